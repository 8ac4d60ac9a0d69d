# Area "spec": the stack spec (cairn/deploy/spec.h), the resource type registry (types.h), the
# dependency graph (graph.h) and plans with cost and approval policy (plan.h). Pure code: no
# processes, no RPCs. OpenSSL's libcrypto gives SHA-256 (plan hashes) and HMAC (secret digests).
find_package(OpenSSL REQUIRED COMPONENTS Crypto)
target_sources(cairn_deploy PRIVATE
  ${CMAKE_CURRENT_SOURCE_DIR}/src/types.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/schema_check.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/spec_errors.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/spec_parse.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/spec_validate.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/spec_refs.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/spec_secrets.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/spec_scaling.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/graph.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/plan.cc)
target_link_libraries(cairn_deploy PRIVATE OpenSSL::Crypto)
