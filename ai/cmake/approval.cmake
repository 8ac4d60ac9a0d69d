# Human approval (cairn/ai/approval.h): request_approval, its update, query and webhook activity.
target_sources(cairn_ai PRIVATE
  ${CMAKE_CURRENT_SOURCE_DIR}/src/approval_state.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/approval_workflow.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/approval_activity.cc)
