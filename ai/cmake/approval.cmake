# Human approval (cairn/ai/approval.h): request_approval, its update, query and webhook activity.
target_sources(cairn_ai PRIVATE
  ${CMAKE_CURRENT_SOURCE_DIR}/src/approval_state.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/approval_workflow.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/approval_activity.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/approval_client.cc)

# The approval e2e tests run a webhook receiver on cpp-httplib: Debian's compiled library, used
# with its pkg-config flags (they change the layout of Request / Response). ai_e2e_test is
# defined later (tests/ai/CMakeLists.txt), so the link is deferred to the end of the top level.
pkg_check_modules(cpp_httplib_for_approval REQUIRED IMPORTED_TARGET GLOBAL cpp-httplib)
function(cairn_ai_approval_test_links)
  if(TARGET ai_e2e_test)
    target_link_libraries(ai_e2e_test PRIVATE PkgConfig::cpp_httplib_for_approval)
  endif()
endfunction()
cmake_language(DEFER DIRECTORY ${PROJECT_SOURCE_DIR} CALL cairn_ai_approval_test_links)
