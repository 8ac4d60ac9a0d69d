# Area "providers": the provider seam (cairn/deploy/provider.h), the process tracker
# (cairn/deploy/process.h) and the local providers (process, model_endpoint, redis, command) in
# deploy/src/providers/. The tests start real redis-server and cairn-model-endpoint processes:
# their paths reach deploy_test as compile definitions, set once tests/ has defined the target.
target_sources(cairn_deploy PRIVATE
  ${CMAKE_CURRENT_SOURCE_DIR}/src/provider.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/process.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/process_net.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/providers/local_process.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/providers/resp.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/providers/process_provider.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/providers/model_endpoint_provider.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/providers/redis_provider.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/providers/command_provider.cc)

find_program(CAIRN_DEPLOY_REDIS_SERVER redis-server PATHS /usr/bin /usr/sbin)

# deploy/ is configured before tests/: wire deploy_test at the end of the top-level directory.
function(cairn_deploy_providers_wire_tests)
  if(NOT TARGET deploy_test)
    return()
  endif()
  if(CAIRN_DEPLOY_REDIS_SERVER)
    target_compile_definitions(deploy_test PRIVATE
                               CAIRN_DEPLOY_REDIS_SERVER="${CAIRN_DEPLOY_REDIS_SERVER}")
  endif()
  if(TARGET cairn-model-endpoint)
    target_compile_definitions(deploy_test PRIVATE
                               CAIRN_MODEL_ENDPOINT_BINARY="$<TARGET_FILE:cairn-model-endpoint>")
    add_dependencies(deploy_test cairn-model-endpoint)
  endif()
endfunction()
cmake_language(DEFER DIRECTORY ${PROJECT_SOURCE_DIR} CALL cairn_deploy_providers_wire_tests)
