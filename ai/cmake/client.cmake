# Area: the OpenAI-compatible client (libcurl), its error classification and Retry-After, the
# SSE parser, and AiRuntime with the "cairn.ai.chat" / "cairn.ai.embed" activities.
target_sources(cairn_ai PRIVATE
  ${CMAKE_CURRENT_SOURCE_DIR}/src/openai_client.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/openai_errors.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/openai_http.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/openai_sse.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/openai_wire.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/runtime.cc)
