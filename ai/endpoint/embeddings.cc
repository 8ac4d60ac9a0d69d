// POST /v1/embeddings: hashed embeddings (cairn/ai/tokenizer.h) in the OpenAI shape.
#include <cstring>

#include "ai/endpoint/handlers.h"
#include "cairn/ai/tokenizer.h"

namespace cairn::ai::endpoint {
namespace {

using nlohmann::json;

constexpr size_t kMaxEmbeddingInputs = 2048;

// The vector as little-endian float32 bytes in base64, as OpenAI's encoding_format "base64".
std::string base64_floats(const std::vector<float>& v) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string bytes;
  for (float f : v) {
    uint32_t u = 0;
    std::memcpy(&u, &f, sizeof u);
    for (int k = 0; k < 4; ++k) {
      bytes.push_back(static_cast<char>((u >> (8 * k)) & 0xff));
    }
  }
  std::string out;
  for (size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t n = static_cast<uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
    if (i + 1 < bytes.size()) {
      n |= static_cast<uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
    }
    if (i + 2 < bytes.size()) {
      n |= static_cast<unsigned char>(bytes[i + 2]);
    }
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.push_back(i + 1 < bytes.size() ? kAlphabet[(n >> 6) & 63] : '=');
    out.push_back(i + 2 < bytes.size() ? kAlphabet[n & 63] : '=');
  }
  return out;
}

}  // namespace

Reply Handler::embeddings(const std::string& body) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("input")) {
    return invalid_param("input", "expected a string or an array of strings");
  }
  std::vector<std::string> inputs;
  const json& input = j["input"];
  if (input.is_string()) {
    inputs.push_back(input.get<std::string>());
  } else if (input.is_array()) {
    for (size_t i = 0; i < input.size(); ++i) {
      if (!input[i].is_string()) {
        return invalid_param("input[" + std::to_string(i) + "]", "expected a string");
      }
      inputs.push_back(input[i].get<std::string>());
    }
  } else {
    return invalid_param("input", "expected a string or an array of strings");
  }
  if (inputs.empty()) {
    return invalid_param("input", "expected at least one input");
  }
  if (inputs.size() > kMaxEmbeddingInputs) {
    return invalid_param("input", "at most 2048 inputs per request, got " +
                                      std::to_string(inputs.size()) + ": split the batch");
  }
  int64_t dim = options_.embedding_dim;
  if (j.contains("dimensions") && !j["dimensions"].is_null()) {
    if (!j["dimensions"].is_number_integer() || j["dimensions"].get<int64_t>() < 1 ||
        j["dimensions"].get<int64_t>() > 4096) {
      return invalid_param("dimensions", "expected an integer between 1 and 4096");
    }
    dim = j["dimensions"].get<int64_t>();
  }
  bool base64 = false;
  if (j.contains("encoding_format") && !j["encoding_format"].is_null()) {
    std::string format =
        j["encoding_format"].is_string() ? j["encoding_format"].get<std::string>() : "";
    if (format != "float" && format != "base64") {
      return invalid_param("encoding_format", "expected \"float\" or \"base64\"");
    }
    base64 = format == "base64";
  }
  std::string model =
      j.contains("model") && j["model"].is_string() && !j["model"].get<std::string>().empty()
          ? j["model"].get<std::string>()
          : options_.model;
  json data = json::array();
  int64_t tokens = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    tokens += count_tokens(inputs[i]);
    std::vector<float> v = hashed_embedding(inputs[i], static_cast<size_t>(dim));
    data.push_back({{"object", "embedding"},
                    {"index", i},
                    {"embedding", base64 ? json(base64_floats(v)) : json(v)}});
  }
  return json_reply({{"object", "list"},
                     {"data", data},
                     {"model", model},
                     {"usage", {{"prompt_tokens", tokens}, {"total_tokens", tokens}}}});
}

}  // namespace cairn::ai::endpoint
