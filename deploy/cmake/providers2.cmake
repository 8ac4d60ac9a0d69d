# Area "providers2": the router (HAProxy) and vector_index (the AI batteries' VectorStore)
# providers in deploy/src/providers/. Their tests start real haproxy and cairn-model-endpoint
# processes: haproxy's path reaches deploy_test as a compile definition once tests/ exists.
target_sources(cairn_deploy PRIVATE
  ${CMAKE_CURRENT_SOURCE_DIR}/src/providers/haproxy_config.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/providers/router_provider.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/providers/vector_index_build.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/providers/vector_index_provider.cc)

find_program(CAIRN_DEPLOY_HAPROXY haproxy PATHS /usr/sbin /usr/bin)

function(cairn_deploy_providers2_wire_tests)
  if(NOT TARGET deploy_test)
    return()
  endif()
  if(CAIRN_DEPLOY_HAPROXY)
    target_compile_definitions(deploy_test PRIVATE CAIRN_DEPLOY_HAPROXY="${CAIRN_DEPLOY_HAPROXY}")
  endif()
endfunction()
cmake_language(DEFER DIRECTORY ${PROJECT_SOURCE_DIR} CALL cairn_deploy_providers2_wire_tests)
