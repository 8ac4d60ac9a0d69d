# Area "metrics": AiMetrics (cairn/ai/metrics.h), the worker-side Prometheus metrics.
target_sources(cairn_ai PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src/metrics.cc)
