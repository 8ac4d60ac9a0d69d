# Area budget + cost accounting: the ledger workflow, the budget activities and helpers,
# BudgetExceeded (cairn/ai/budget.h) and the per-run CostTracker (cairn/ai/cost.h).
target_sources(cairn_ai PRIVATE
               ${CMAKE_CURRENT_SOURCE_DIR}/src/budget_error.cc
               ${CMAKE_CURRENT_SOURCE_DIR}/src/budget_ledger.cc
               ${CMAKE_CURRENT_SOURCE_DIR}/src/budget_workflow.cc
               ${CMAKE_CURRENT_SOURCE_DIR}/src/budget_client.cc
               ${CMAKE_CURRENT_SOURCE_DIR}/src/cost_tracker.cc)
