#include "vector_hnsw_graph.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <hnswlib/hnswlib.h>

namespace cairn::ai {
namespace {

using nlohmann::json;

constexpr size_t kMaxIdBytes = 1024;

std::string item_name(size_t i, const std::string& id) {
  return "item " + std::to_string(i) + (id.empty() ? "" : " (id \"" + id + "\")");
}

// Returns false (leaving `out` unspecified) for a zero or non-finite vector.
bool normalise(const float* v, size_t dim, float* out) {
  double sum = 0;
  for (size_t i = 0; i < dim; ++i) {
    if (!std::isfinite(v[i])) {
      return false;
    }
    sum += static_cast<double>(v[i]) * v[i];
  }
  if (!(sum > 0) || !std::isfinite(sum)) {
    return false;
  }
  double inv = 1.0 / std::sqrt(sum);
  for (size_t i = 0; i < dim; ++i) {
    out[i] = static_cast<float>(v[i] * inv);
  }
  return true;
}

bool value_matches(const json& want, const json& have) {
  if (have.is_array() && !want.is_array()) {
    return std::find(have.begin(), have.end(), want) != have.end();
  }
  return want == have;
}

bool by_score(const VectorHit& a, const VectorHit& b) {
  if (a.score != b.score) {
    return a.score > b.score;
  }
  return a.id < b.id;
}

}  // namespace

std::vector<VectorItem> normalised_items(const std::vector<VectorItem>& items, size_t dim) {
  std::vector<VectorItem> out = items;
  for (size_t i = 0; i < out.size(); ++i) {
    VectorItem& item = out[i];
    if (item.id.empty() || item.id.size() > kMaxIdBytes) {
      throw VectorStoreError(item_name(i, "") + ": the id must be 1 to 1024 bytes (got " +
                                 std::to_string(item.id.size()) + ")",
                             "InvalidVector");
    }
    if (item.vector.size() != dim) {
      throw VectorStoreError(item_name(i, item.id) + ": the vector has " +
                                 std::to_string(item.vector.size()) +
                                 " dimensions, the index has " + std::to_string(dim),
                             "InvalidVector");
    }
    if (!normalise(item.vector.data(), dim, item.vector.data())) {
      throw VectorStoreError(
          item_name(i, item.id) + ": the vector is zero or has a non-finite component",
          "InvalidVector");
    }
    if (item.metadata.is_null()) {
      item.metadata = json::object();
    }
    if (!item.metadata.is_object()) {
      throw VectorStoreError(item_name(i, item.id) + ": metadata must be a JSON object",
                             "InvalidVector");
    }
  }
  return out;
}

std::vector<float> normalised_query(const std::vector<float>& query, size_t dim) {
  if (query.size() != dim) {
    throw VectorStoreError("query vector has " + std::to_string(query.size()) +
                               " dimensions, the index has " + std::to_string(dim),
                           "InvalidVector");
  }
  std::vector<float> out(dim);
  if (!normalise(query.data(), dim, out.data())) {
    throw VectorStoreError("query vector is zero or has a non-finite component", "InvalidVector");
  }
  return out;
}

void check_filter(const json& filter) {
  if (!filter.is_null() && !filter.is_object()) {
    throw VectorStoreError("filter must be a JSON object of field → value or [values] (got " +
                               std::string(filter.type_name()) + ")",
                           "InvalidFilter");
  }
}

bool filter_matches(const json& filter, const json& metadata) {
  if (filter.is_null()) {
    return true;
  }
  for (const auto& [key, want] : filter.items()) {
    auto it = metadata.find(key);
    if (it == metadata.end()) {
      return false;
    }
    if (want.is_array()) {
      bool any = false;
      for (const json& w : want) {
        if (value_matches(w, *it)) {
          any = true;
          break;
        }
      }
      if (!any) {
        return false;
      }
    } else if (!value_matches(want, *it)) {
      return false;
    }
  }
  return true;
}

HnswGraph::HnswGraph(size_t dim, const HnswOptions& options)
    : dim_(dim), options_(options), space_(std::make_unique<hnswlib::InnerProductSpace>(dim)) {
  graph_ = std::make_unique<hnswlib::HierarchicalNSW<float>>(space_.get(), options.initial_capacity,
                                                             options.m, options.ef_construction,
                                                             options.random_seed);
  graph_->setEf(options.ef_search);
}

HnswGraph::HnswGraph(size_t dim, const HnswOptions& options, const std::string& index_path,
                     const std::string& items_blob)
    : dim_(dim), options_(options), space_(std::make_unique<hnswlib::InnerProductSpace>(dim)) {
  json items;
  try {
    items = json::from_cbor(items_blob);
    for (const json& s : items.at("slots")) {
      Slot slot;
      slot.id = s.at("id").get<std::string>();
      slot.removed = s.value("x", false);
      if (!slot.removed) {
        slot.metadata = s.at("m");
        ++live_;
      }
      labels_[slot.id] = slots_.size();
      slots_.push_back(std::move(slot));
    }
  } catch (const json::exception& e) {
    throw VectorStoreError("vector store items file is unreadable: " + std::string(e.what()),
                           "IndexCorrupt");
  }
  try {
    graph_ = std::make_unique<hnswlib::HierarchicalNSW<float>>(space_.get(), index_path, false,
                                                               slots_.size());
  } catch (const std::exception& e) {
    throw VectorStoreError("vector store index " + index_path + ": " + e.what(), "IndexCorrupt");
  }
  // hnswlib 0.6's loading constructor leaves num_deleted_ uninitialised: count the marks.
  graph_->num_deleted_ = 0;
  for (size_t i = 0; i < graph_->cur_element_count; ++i) {
    graph_->num_deleted_ += graph_->isMarkedDeleted(static_cast<hnswlib::tableint>(i)) ? 1 : 0;
  }
  if (graph_->cur_element_count != slots_.size() || graph_->num_deleted_ != slots_.size() - live_) {
    throw VectorStoreError("vector store index " + index_path + " holds " +
                               std::to_string(graph_->cur_element_count) + " elements (" +
                               std::to_string(graph_->num_deleted_) + " removed), its items file " +
                               std::to_string(slots_.size()) + " (" +
                               std::to_string(slots_.size() - live_) + " removed)",
                           "IndexCorrupt");
  }
  graph_->setEf(options.ef_search);
}

HnswGraph::~HnswGraph() = default;

bool HnswGraph::contains(const std::string& id) const {
  auto it = labels_.find(id);
  return it != labels_.end() && !slots_[it->second].removed;
}

size_t HnswGraph::capacity() const { return graph_->max_elements_; }
size_t HnswGraph::m() const { return graph_->M_; }
size_t HnswGraph::ef_construction() const { return graph_->ef_construction_; }

void HnswGraph::reserve(size_t labels) {
  if (labels <= graph_->max_elements_) {
    return;
  }
  size_t next = std::max(labels, graph_->max_elements_ * 2);
  graph_->resizeIndex(next);
}

void HnswGraph::upsert(const std::vector<VectorItem>& items) {
  size_t fresh = 0;
  for (const VectorItem& item : items) {
    fresh += labels_.count(item.id) == 0 ? 1 : 0;
  }
  reserve(slots_.size() + fresh);
  // Bookkeeping first, in order (the last of an id given twice wins), then the graph inserts:
  // one per label, so that they may run on several threads.
  std::unordered_map<size_t, const float*> vectors;
  std::vector<size_t> order;
  for (const VectorItem& item : items) {
    auto it = labels_.find(item.id);
    size_t label;
    if (it == labels_.end()) {
      label = slots_.size();
      slots_.push_back(Slot{item.id, item.metadata, false});
      labels_.emplace(item.id, label);
      ++live_;
    } else {
      label = it->second;
      Slot& slot = slots_[label];
      if (slot.removed) {
        slot.removed = false;
        ++live_;
      }
      slot.metadata = item.metadata;
    }
    if (vectors.count(label) == 0) {
      order.push_back(label);
    }
    vectors[label] = item.vector.data();
  }
  // An existing label is updated in place (and un-removed) by hnswlib. hnswlib's addPoint is
  // safe to call concurrently for distinct labels.
  size_t threads = std::min<size_t>(options_.insert_threads, order.size() / 256 + 1);
  if (threads <= 1) {
    for (size_t label : order) {
      graph_->addPoint(vectors[label], label);
    }
    return;
  }
  std::atomic<size_t> next{0};
  std::exception_ptr error;
  std::mutex error_mu;
  std::vector<std::thread> pool;
  for (size_t t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (size_t i = next++; i < order.size(); i = next++) {
        try {
          graph_->addPoint(vectors.at(order[i]), order[i]);
        } catch (...) {
          std::lock_guard lock(error_mu);
          error = std::current_exception();
          return;
        }
      }
    });
  }
  for (auto& th : pool) {
    th.join();
  }
  if (error) {
    std::rethrow_exception(error);
  }
}

size_t HnswGraph::remove(const std::vector<std::string>& ids) {
  size_t removed = 0;
  for (const std::string& id : ids) {
    auto it = labels_.find(id);
    if (it == labels_.end() || slots_[it->second].removed) {
      continue;
    }
    graph_->markDelete(it->second);
    Slot& slot = slots_[it->second];
    slot.removed = true;
    slot.metadata = json();
    --live_;
    ++removed;
  }
  return removed;
}

std::vector<VectorHit> HnswGraph::exact_search(const float* query, size_t k, const json& filter,
                                               size_t matches) const {
  std::vector<VectorHit> hits;
  hits.reserve(matches);
  auto dist = space_->get_dist_func();
  void* param = space_->get_dist_func_param();
  for (size_t label = 0; label < slots_.size(); ++label) {
    const Slot& slot = slots_[label];
    if (slot.removed || !filter_matches(filter, slot.metadata)) {
      continue;
    }
    const char* data = graph_->getDataByInternalId(graph_->label_lookup_.at(label));
    hits.push_back(VectorHit{slot.id, 1.0f - dist(query, data, param), slot.metadata});
  }
  size_t n = std::min(k, hits.size());
  std::partial_sort(hits.begin(), hits.begin() + static_cast<std::ptrdiff_t>(n), hits.end(),
                    by_score);
  hits.resize(n);
  return hits;
}

std::vector<VectorHit> HnswGraph::search(const std::vector<float>& query, size_t k,
                                         const json& filter) const {
  if (k == 0 || live_ == 0) {
    return {};
  }
  bool filtered = filter.is_object() && !filter.empty();
  const json& f = filtered ? filter : json();
  size_t matches = live_;
  if (filtered) {
    matches = 0;
    for (const Slot& slot : slots_) {
      matches += (!slot.removed && filter_matches(f, slot.metadata)) ? 1 : 0;
    }
    if (matches == 0) {
      return {};
    }
    // A selective filter: scanning the matches is exact and cheaper than oversampling the graph.
    if (matches <= 2048 || matches * 8 <= live_) {
      return exact_search(query.data(), k, f, matches);
    }
  }
  // Oversample by the share of items the filter lets through; widen until k hits or all seen.
  size_t want = std::min(k, matches);
  size_t fetch = std::min(live_, filtered ? want * (live_ / matches + 1) * 2 : want);
  for (;;) {
    auto found = graph_->searchKnnCloserFirst(query.data(), fetch);
    std::vector<VectorHit> hits;
    for (const auto& [distance, label] : found) {
      const Slot& slot = slots_[label];
      if (slot.removed || (filtered && !filter_matches(f, slot.metadata))) {
        continue;
      }
      hits.push_back(VectorHit{slot.id, 1.0f - distance, slot.metadata});
    }
    if (hits.size() >= want || fetch >= live_) {
      std::sort(hits.begin(), hits.end(), by_score);
      if (hits.size() > want) {
        hits.resize(want);
      }
      return hits;
    }
    fetch = std::min(live_, fetch * 2);
  }
}

void HnswGraph::save_index(const std::string& path) const {
  graph_->saveIndex(path);
  // saveIndex writes through an unchecked std::ofstream: a short write (a full disk) would go
  // unnoticed and be checksummed as if whole. Its layout is fixed, so check the size.
  const auto& g = *graph_;
  uint64_t expected = 10 * sizeof(size_t) + sizeof(int) + sizeof(hnswlib::tableint) +
                      sizeof(double) + g.cur_element_count * g.size_data_per_element_;
  for (size_t i = 0; i < g.cur_element_count; ++i) {
    expected += sizeof(unsigned int) +
                (g.element_levels_[i] > 0 ? g.size_links_per_element_ * g.element_levels_[i] : 0);
  }
  std::error_code ec;
  uint64_t written = std::filesystem::file_size(path, ec);
  if (ec || written != expected) {
    throw VectorStoreError("vector store: writing " + path + " stopped at " +
                               std::to_string(ec ? 0 : written) + " of " +
                               std::to_string(expected) + " bytes (disk full?)",
                           "StorageError");
  }
}

std::string HnswGraph::items_blob() const {
  json slots = json::array();
  for (const Slot& slot : slots_) {
    if (slot.removed) {
      slots.push_back({{"id", slot.id}, {"x", true}});
    } else {
      slots.push_back({{"id", slot.id}, {"m", slot.metadata}});
    }
  }
  std::vector<uint8_t> bytes = json::to_cbor(json{{"slots", std::move(slots)}});
  return std::string(bytes.begin(), bytes.end());
}

}  // namespace cairn::ai
