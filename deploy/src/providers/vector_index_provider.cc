// The `vector_index` provider: an HnswVectorStore (the AI batteries' VectorStore) built from a
// directory of documents with embeddings from an OpenAI-compatible endpoint.
//   inputs:  dim, source (an absolute directory: the stack workflow resolves a relative one
//            against StackSpec::base_dir before it calls create / update), embedding_endpoint
//            (a URL; "/v1" is added when it has no path), index (default: the key), chunk_chars
//            (1000), overlap (150), cost_per_hour (plans only), batch_size (32),
//            build_timeout_seconds (600) — the schema's (types.cc vector_index_type)
//   outputs: path (the store's directory), count (items), index, registry_root (the directory a
//            VectorRegistry opens the index from by name), dim
// The build: with ProviderContext::client, the ingestion workflow "cairn.ai.ingest", its id
// derived from the key and the build (a retry continues the same run); without one, the same
// chunker, embedding calls and store in this process (vector_index_build.h). Either way the
// chunks land in a staging index, and the live index takes its content in one restore(), so
// readers see the old or the new index, never a half-built one.
// Key directory: indexes/<index>/ (live), indexes/<index>.staging/ (a build underway),
// build.json (the build the live index holds), attempt.json (the build underway and its workflow
// id), snapshots/s-<n>/ (copies taken by snapshot()).
#include <fstream>
#include <random>
#include <sstream>

#include "cairn/ai/vector_store.h"
#include "cairn/deploy/provider.h"
#include "providers/local_process.h"
#include "providers/vector_index_build.h"

namespace cairn::deploy {
namespace {

using nlohmann::json;

json read_json(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) {
    return nullptr;
  }
  return json::parse(in, nullptr, /*allow_exceptions=*/false);
}

void write_json_atomic(const std::filesystem::path& path, const json& j) {
  std::filesystem::path tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << j.dump(2) << "\n";
    if (!out) {
      throw ProviderError(ProviderErrorKind::kFailed, "write " + path.string() + " failed");
    }
  }
  std::filesystem::rename(tmp, path);
}

std::string random_hex(size_t n) {
  std::random_device rd;
  std::string out;
  const char* digits = "0123456789abcdef";
  for (size_t i = 0; i < n; ++i) {
    out.push_back(digits[rd() % 16]);
  }
  return out;
}

bool store_exists(const std::filesystem::path& path) {
  std::error_code ec;
  return std::filesystem::exists(path / "MANIFEST", ec);
}

// Turns a store error into the provider's typed error.
[[noreturn]] void rethrow_store(const ai::VectorStoreError& e, const std::string& what) {
  throw ProviderError(e.non_retryable() ? ProviderErrorKind::kFailed
                                        : ProviderErrorKind::kUnavailable,
                      "vector_index: " + what + ": " + e.what());
}

struct Settings {
  std::filesystem::path source;
  size_t dim = 0;
  std::string index;
  std::string embedding_url;
  size_t chunk_chars = 1000;
  size_t overlap = 150;
  size_t batch_size = 32;
  std::chrono::milliseconds timeout{600000};
};

class VectorIndexProvider : public Provider {
 public:
  std::string type() const override { return "vector_index"; }

  std::vector<InputError> check(const json& inputs) const override {
    // The shape, then the semantic rules on the parts that are well-formed.
    std::vector<InputError> errors = local::schema_errors("vector_index", inputs);
    if (!inputs.is_object()) {
      return errors;
    }
    // A relative source is the stack workflow's to resolve (against base_dir); an absolute one
    // must be there.
    if (inputs.contains("source") && inputs["source"].is_string()) {
      std::filesystem::path source = inputs["source"].get<std::string>();
      std::error_code ec;
      if (source.is_absolute() && !std::filesystem::is_directory(source, ec)) {
        errors.push_back({"source", "source: " + source.string() + " is not a directory"});
      }
    }
    json chunk = inputs.value("chunk_chars", json(1000));
    json overlap = inputs.value("overlap", json(150));
    if (chunk.is_number_integer() && overlap.is_number_integer() &&
        overlap.get<int64_t>() * 2 >= chunk.get<int64_t>()) {
      errors.push_back({"overlap", "overlap: must be below chunk_chars / 2"});
    }
    if (inputs.contains("index") && inputs["index"].is_string()) {
      std::string name = inputs["index"].get<std::string>();
      if (name.empty() || name[0] == '.' ||
          name.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") !=
              std::string::npos) {
        errors.push_back({"index", "index: expected [A-Za-z0-9._-], not starting with '.'"});
      }
    }
    return errors;
  }

  Diff diff(const json& old_inputs, const json& new_inputs,
            const ProviderState& recorded) const override {
    return diff_by_schema(*find_type("vector_index"), old_inputs, new_inputs);
  }

  ProviderState create(ProviderContext& ctx, const std::string& key, const json& inputs) override {
    Settings s = settings(inputs, key);
    std::filesystem::path dir = ctx.key_dir(key);
    local::KeyLock lock(dir);
    std::vector<ai::IngestDocument> docs = vector_index::read_documents(s.source);
    std::string digest = vector_index::build_digest(docs, s.dim, s.chunk_chars, s.overlap);
    if (std::optional<size_t> count = built(dir, s, digest)) {
      ctx.log(LogLevel::kInfo, "vector_index: adopting " + live_path(dir, s).string());
      return state_of(dir, s, digest, *count, inputs, /*adopted=*/true);
    }
    size_t count = build(ctx, dir, key, s, std::move(docs), digest);
    return state_of(dir, s, digest, count, inputs, /*adopted=*/false);
  }

  ReadResult read(ProviderContext& ctx, const ProviderState& recorded) override {
    ReadResult result;
    std::filesystem::path path = recorded.outputs.value("path", "");
    if (path.empty() || !store_exists(path)) {
      return result;
    }
    result.exists = true;
    result.outputs = recorded.outputs;
    size_t want = recorded.outputs.value("count", size_t{0});
    try {
      ai::HnswVectorStore store(path.string(), recorded.outputs.value("dim", size_t{1}));
      result.outputs["count"] = store.size();
      if (store.size() != want) {
        result.drift.push_back({"count", want, store.size()});
      }
    } catch (const ai::VectorStoreError& e) {
      result.drift.push_back({"readable", true, e.what()});
      return result;
    }
    // The documents changed behind an unchanged path: the index no longer reflects them.
    std::string want_digest = recorded.private_state.value("digest", "");
    try {
      json inputs = recorded.private_state.value("inputs", json::object());
      Settings s = settings(inputs, recorded.outputs.value("index", ""));
      std::string now = vector_index::build_digest(vector_index::read_documents(s.source), s.dim,
                                                   s.chunk_chars, s.overlap);
      if (now != want_digest) {
        result.drift.push_back({"source", want_digest, now});
      }
    } catch (const ProviderError& e) {
      result.drift.push_back({"source", want_digest, e.what()});
    }
    return result;
  }

  // Rebuilds from the (new) documents when what the index depends on changed; the live index
  // takes the new content in one restore.
  ProviderState update(ProviderContext& ctx, const ProviderState& recorded,
                       const json& new_inputs) override {
    std::filesystem::path dir = recorded.private_state.value("dir", "");
    if (dir.empty()) {
      throw ProviderError(ProviderErrorKind::kInvalidInputs,
                          "vector_index " + recorded.provider_id + ": no directory recorded");
    }
    std::filesystem::create_directories(dir);
    std::string key = dir.filename().string();
    Settings s = settings(new_inputs, key);
    local::KeyLock lock(dir);
    std::vector<ai::IngestDocument> docs = vector_index::read_documents(s.source);
    std::string digest = vector_index::build_digest(docs, s.dim, s.chunk_chars, s.overlap);
    if (std::optional<size_t> count = built(dir, s, digest)) {
      return state_of(dir, s, digest, *count, new_inputs, /*adopted=*/false);
    }
    size_t count = build(ctx, dir, key, s, std::move(docs), digest);
    return state_of(dir, s, digest, count, new_inputs, /*adopted=*/false);
  }

  // A changed count or source: rebuilt from the recorded inputs.
  ProviderState revert_drift(ProviderContext& ctx, const ProviderState& recorded) override {
    std::filesystem::path dir = recorded.private_state.value("dir", "");
    std::error_code ec;
    std::filesystem::remove(dir / "build.json", ec);  // whatever it says, rebuild
    return update(ctx, recorded, recorded.private_state.value("inputs", json::object()));
  }

  void destroy(ProviderContext& ctx, const ProviderState& recorded) override {
    std::filesystem::path dir = recorded.private_state.value("dir", "");
    if (dir.empty() || !std::filesystem::exists(dir)) {
      return;
    }
    {
      local::KeyLock lock(dir);
      std::error_code ec;
      for (const char* part : {"indexes", "snapshots", "swap", "build.json", "attempt.json"}) {
        std::filesystem::remove_all(dir / part, ec);
      }
    }
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }

  // A consistent copy of the live index in snapshots/s-<n> (the store's own snapshot: taken
  // while writes wait); {"path", "count", "digest"}.
  json snapshot(ProviderContext& ctx, const ProviderState& recorded) override {
    std::filesystem::path dir = recorded.private_state.value("dir", "");
    std::filesystem::path path = recorded.outputs.value("path", "");
    local::KeyLock lock(dir);
    if (!store_exists(path)) {
      throw ProviderError(ProviderErrorKind::kFailed,
                          "vector_index " + recorded.provider_id + ": no index to snapshot at " +
                              path.string());
    }
    std::filesystem::create_directories(dir / "snapshots");
    int n = 1;
    while (std::filesystem::exists(dir / "snapshots" / ("s-" + std::to_string(n)))) {
      ++n;
    }
    std::filesystem::path target = dir / "snapshots" / ("s-" + std::to_string(n));
    try {
      ai::HnswVectorStore store(path.string(), recorded.outputs.value("dim", size_t{1}));
      store.snapshot(target.string());
      json build = read_json(dir / "build.json");
      return {{"path", target.string()},
              {"count", store.size()},
              {"digest", build.is_object() ? build.value("digest", "") : ""},
              {"inputs", recorded.private_state.value("inputs", json::object())}};
    } catch (const ai::VectorStoreError& e) {
      rethrow_store(e, "snapshot");
    }
  }

  // Puts the snapshot's content back into the live index (one restore) and records it.
  ProviderState restore(ProviderContext& ctx, const ProviderState& recorded,
                        const json& snap) override {
    std::filesystem::path dir = recorded.private_state.value("dir", "");
    std::filesystem::path from = snap.value("path", "");
    if (from.empty() || !std::filesystem::exists(from)) {
      throw ProviderError(ProviderErrorKind::kFailed, "vector_index " + recorded.provider_id +
                                                          ": snapshot " + from.string() +
                                                          " is gone");
    }
    json inputs = snap.value("inputs", recorded.private_state.value("inputs", json::object()));
    Settings s = settings(inputs, dir.filename().string());
    std::filesystem::create_directories(dir);
    local::KeyLock lock(dir);
    size_t count = 0;
    try {
      ai::HnswVectorStore live(live_path(dir, s).string(), s.dim);
      live.restore(from.string());
      count = live.size();
    } catch (const ai::VectorStoreError& e) {
      rethrow_store(e, "restore");
    }
    std::string digest = snap.value("digest", "");
    write_json_atomic(dir / "build.json", {{"digest", digest}, {"count", count}});
    return state_of(dir, s, digest, count, inputs, /*adopted=*/false);
  }

 private:
  static Settings settings(const json& inputs, const std::string& key) {
    Settings s;
    s.source = inputs.value("source", "");
    if (s.source.is_relative()) {
      throw ProviderError(ProviderErrorKind::kInvalidInputs,
                          "vector_index: source '" + s.source.string() +
                              "' is relative: resolve it against the stack's base_dir before "
                              "create or update");
    }
    s.dim = inputs.value("dim", size_t{0});
    s.index = inputs.value("index", key);
    s.embedding_url = inputs.value("embedding_endpoint", "");
    s.chunk_chars = inputs.value("chunk_chars", size_t{1000});
    s.overlap = inputs.value("overlap", size_t{150});
    s.batch_size = inputs.value("batch_size", size_t{32});
    s.timeout = local::seconds_input(inputs, "build_timeout_seconds", 600);
    return s;
  }

  static std::filesystem::path live_path(const std::filesystem::path& dir, const Settings& s) {
    return dir / "indexes" / s.index;
  }

  // The live index's count when it holds the build `digest` (recorded in build.json and the
  // store agrees); nullopt when it must be built.
  static std::optional<size_t> built(const std::filesystem::path& dir, const Settings& s,
                                     const std::string& digest) {
    json b = read_json(dir / "build.json");
    if (!b.is_object() || b.value("digest", "") != digest || !store_exists(live_path(dir, s))) {
      return std::nullopt;
    }
    try {
      ai::HnswVectorStore store(live_path(dir, s).string(), s.dim);
      if (store.size() == b.value("count", size_t{0})) {
        return store.size();
      }
    } catch (const ai::VectorStoreError&) {
    }
    return std::nullopt;
  }

  size_t build(ProviderContext& ctx, const std::filesystem::path& dir, const std::string& key,
               const Settings& s, std::vector<ai::IngestDocument> docs, const std::string& digest) {
    vector_index::BuildRequest request;
    request.root = dir / "indexes";
    request.dim = s.dim;
    request.embedding_url = s.embedding_url;
    request.ingest.index = s.index + ".staging";
    request.ingest.documents = std::move(docs);
    request.ingest.chunk_chars = s.chunk_chars;
    request.ingest.overlap = s.overlap;
    request.ingest.batch_size = s.batch_size;
    std::filesystem::path staging = request.root / request.ingest.index;
    std::filesystem::create_directories(request.root);
    std::error_code ec;
    if (ctx.client != nullptr) {
      // The build underway keeps its workflow id across retries (attempt.json); a new build, or
      // one after a destroy, gets a new id.
      json attempt = read_json(dir / "attempt.json");
      std::string workflow_id;
      if (attempt.is_object() && attempt.value("digest", "") == digest) {
        workflow_id = attempt.value("workflow_id", "");
      }
      if (workflow_id.empty()) {
        std::filesystem::remove_all(staging, ec);
        workflow_id = "deploy-index." + key + "." + digest.substr(0, 12) + "." + random_hex(8);
        write_json_atomic(dir / "attempt.json", {{"digest", digest}, {"workflow_id", workflow_id}});
      }
      vector_index::build_with_workflow(ctx, request, workflow_id, s.timeout);
    } else {
      std::filesystem::remove_all(staging, ec);  // not durable: a crashed build starts over
      vector_index::build_in_process(ctx, request);
    }
    size_t count = 0;
    std::filesystem::path swap = dir / "swap";
    std::filesystem::remove_all(swap, ec);
    std::filesystem::remove_all(dir / "swap.partial", ec);
    try {
      {
        ai::HnswVectorStore built_store(staging.string(), s.dim);
        built_store.snapshot(swap.string());
      }
      ai::HnswVectorStore live(live_path(dir, s).string(), s.dim);
      live.restore(swap.string());
      count = live.size();
    } catch (const ai::VectorStoreError& e) {
      rethrow_store(e, "installing the build");
    }
    write_json_atomic(dir / "build.json", {{"digest", digest}, {"count", count}});
    std::filesystem::remove(dir / "attempt.json", ec);
    std::filesystem::remove_all(swap, ec);
    std::filesystem::remove_all(staging, ec);
    ctx.log(LogLevel::kInfo, "vector_index: " + std::to_string(count) + " chunks in " +
                                 live_path(dir, s).string());
    return count;
  }

  static ProviderState state_of(const std::filesystem::path& dir, const Settings& s,
                                const std::string& digest, size_t count, const json& inputs,
                                bool adopted) {
    ProviderState st;
    st.provider_id = "vector_index:" + dir.filename().string();
    st.outputs = {{"path", live_path(dir, s).string()},
                  {"count", count},
                  {"index", s.index},
                  {"registry_root", (dir / "indexes").string()},
                  {"dim", s.dim}};
    st.private_state = {{"dir", dir.string()},
                        {"digest", digest},
                        {"adopted", adopted},
                        {"inputs", inputs}};
    return st;
  }
};

}  // namespace

std::unique_ptr<Provider> make_vector_index_provider(const LocalProviderOptions&) {
  return std::make_unique<VectorIndexProvider>();
}

}  // namespace cairn::deploy
