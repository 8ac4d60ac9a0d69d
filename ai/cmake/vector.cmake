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
