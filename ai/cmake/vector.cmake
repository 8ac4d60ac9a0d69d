# Area: vector search and ingestion (cairn/ai/vector_store.h, vector_activities.h, ingest.h).
# hnswlib is header-only and included by ai/src/vector_hnsw_graph.cc only.
target_sources(cairn_ai PRIVATE
  ${CMAKE_CURRENT_SOURCE_DIR}/src/vector_files.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/vector_hnsw_graph.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/vector_checkpoint.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/vector_hnsw_store.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/vector_store.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/vector_activities.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/vector_chunker.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/vector_ingest.cc)
target_include_directories(cairn_ai PRIVATE ${HNSWLIB_INCLUDE_DIR})

# bench/ai_vector_bench.cc: build and query time of the store on 10k vectors (CAIRN_BUILD_BENCH).
if(CAIRN_BUILD_BENCH)
  find_package(benchmark CONFIG REQUIRED)
  add_executable(ai_vector_bench ${PROJECT_SOURCE_DIR}/bench/ai_vector_bench.cc)
  target_link_libraries(ai_vector_bench PRIVATE cairn_ai benchmark::benchmark)
endif()
