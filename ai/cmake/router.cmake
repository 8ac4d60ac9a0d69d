# Area: router config and routing by cost tier, the price table and cost math, the Redis
# response cache (cairn/ai/router.h, cairn/ai/pricing.h, cairn/ai/cache.h).
target_sources(cairn_ai PRIVATE
  ${CMAKE_CURRENT_SOURCE_DIR}/src/pricing.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/router.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/router_config.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/router_validate.cc)
target_sources(cairn_ai PRIVATE
  ${CMAKE_CURRENT_SOURCE_DIR}/src/cache.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/cache_key.cc)
