# Area "endpoint": the token rule and hashed embeddings (cairn/ai/tokenizer.h) in cairn_ai, and
# the deterministic OpenAI-compatible endpoint binary cairn-model-endpoint (ai/endpoint/). The
# binary does not link cairn_ai (nor gRPC): it compiles the tokenizer itself.
target_sources(cairn_ai PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src/tokenizer.cc)

add_executable(cairn-model-endpoint
  ${CMAKE_CURRENT_SOURCE_DIR}/endpoint/main.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/endpoint/server.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/endpoint/handlers.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/endpoint/embeddings.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/endpoint/prompt_cache.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/endpoint/answer.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/endpoint/tools.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/endpoint/faults.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/tokenizer.cc)
# Debian's cpp-httplib is a compiled library (libcpp-httplib.so) built with OpenSSL, zlib and
# brotli support; its pkg-config flags must be used, or Request/Response differ in layout.
pkg_check_modules(cpp_httplib REQUIRED IMPORTED_TARGET cpp-httplib)
target_include_directories(cairn-model-endpoint PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/include)
cairn_include_root(cairn-model-endpoint PRIVATE ai/endpoint)
target_link_libraries(cairn-model-endpoint PRIVATE nlohmann_json::nlohmann_json CLI11::CLI11
                                                   PkgConfig::cpp_httplib
                                                   Threads::Threads)
