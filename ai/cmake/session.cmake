# Area "session": the workflow-side Session (routing plan, fallback, budgets around each call),
# the tool-calling agent loop and the claim check (blob store, blob activities).
target_sources(cairn_ai PRIVATE
  ${CMAKE_CURRENT_SOURCE_DIR}/src/agent.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/session.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/session_claim_check.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/session_plan.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/session_register.cc
)
