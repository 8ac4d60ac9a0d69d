# Area "stack": the per-stack entity workflow (cairn/deploy/stack.h) — its activities, the
# workflow, the client — the worker binary cairn-deploy-worker, and the end-to-end test binary
# deploy_e2e_test (tests/deploy/e2e/*_test.cc against real cairn-server, cairn-deploy-worker and
# provider processes).
target_sources(cairn_deploy PRIVATE
  ${CMAKE_CURRENT_SOURCE_DIR}/src/stack_json.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/stack_activities.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/stack_workflow.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/stack_client.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/stack_schedules.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/scaling.cc)

add_executable(cairn-deploy-worker ${CMAKE_CURRENT_SOURCE_DIR}/worker/main.cc)
target_link_libraries(cairn-deploy-worker PRIVATE cairn_deploy CLI11::CLI11)

# deploy/ is configured before tests/: wire deploy_e2e_test at the end of the top-level directory.
function(cairn_deploy_stack_wire_e2e)
  file(GLOB deploy_e2e_sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/tests/deploy/e2e/*_test.cc)
  if(NOT deploy_e2e_sources OR NOT TARGET cairn_e2e_support)
    return()
  endif()
  add_executable(deploy_e2e_test ${deploy_e2e_sources})
  target_link_libraries(deploy_e2e_test PRIVATE cairn_deploy cairn_e2e_support GTest::gtest
                                                GTest::gmock GTest::gtest_main)
  target_include_directories(deploy_e2e_test PRIVATE ${PROJECT_SOURCE_DIR}/tests)
  target_compile_definitions(deploy_e2e_test PRIVATE
    CAIRN_SERVER_BINARY="$<TARGET_FILE:cairn-server>"
    CAIRNCTL_BINARY="$<TARGET_FILE:cairnctl>"
    CAIRN_DEPLOY_WORKER_BINARY="$<TARGET_FILE:cairn-deploy-worker>"
    CAIRN_MODEL_ENDPOINT_BINARY="$<TARGET_FILE:cairn-model-endpoint>")
  if(CAIRN_DEPLOY_REDIS_SERVER)
    target_compile_definitions(deploy_e2e_test PRIVATE
                               CAIRN_DEPLOY_REDIS_SERVER="${CAIRN_DEPLOY_REDIS_SERVER}")
  endif()
  add_dependencies(deploy_e2e_test cairn-server cairnctl cairn-deploy-worker cairn-model-endpoint)
  gtest_discover_tests(deploy_e2e_test DISCOVERY_TIMEOUT 60 PROPERTIES LABELS deploy_e2e
                       TIMEOUT 120)
  # The README's main job as a test: scripts/demo.sh applies the support agent's stack
  # (two endpoint tiers, the router, Redis, the index) and the agent answers its tickets through
  # it; the script fails when any step does, the destroy at its end included. It runs the
  # binaries in ./build.
  if(PROJECT_BINARY_DIR STREQUAL "${PROJECT_SOURCE_DIR}/build")
    add_test(NAME Demo.SupportAgentOnItsStack COMMAND bash scripts/demo.sh
             WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
    set_tests_properties(Demo.SupportAgentOnItsStack PROPERTIES
      ENVIRONMENT CAIRN_DEMO_SETUP=0 LABELS "demo;deploy_e2e" TIMEOUT 300)
  endif()
endfunction()
cmake_language(DEFER DIRECTORY ${PROJECT_SOURCE_DIR} CALL cairn_deploy_stack_wire_e2e)
