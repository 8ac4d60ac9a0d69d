// What model calls cost: a price per model (micro-dollars per million tokens, or per hour for
// self-hosted capacity) and the integer cost math budgets and cost accounting use. Never
// floating point: every result is rounded up to a whole micro-dollar, once per call.
// PriceTable is a plain value (thread-compatible); the free functions are pure.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "cairn/ai/types.h"

namespace cairn::ai {

// The price of one model. Token prices are micro-dollars per 1,000,000 tokens ($3 per 1M tokens
// = 3'000'000); per_hour is micro-dollars per hour of call duration (self-hosted capacity, or a
// provider that bills time). All three may apply at once; each is >= 0.
struct Price {
  Micros input_per_million = 0;
  Micros output_per_million = 0;
  Micros per_hour = 0;
  // Price of cached prompt tokens when the provider discounts them; unset: input_per_million.
  // Cached tokens are part of the prompt tokens and are priced once, at this price.
  std::optional<Micros> cached_input_per_million;
  bool operator==(const Price&) const = default;
};

// Prices by model id.
class PriceTable {
 public:
  PriceTable() = default;

  // The built-in prices (list prices of 2024, micro-dollars): claude-3-5-sonnet $3 / $15,
  // claude-3-5-haiku $0.80 / $4, claude-3-haiku $0.25 / $1.25, claude-3-opus $15 / $75,
  // gpt-4o $2.50 / $10 (cached $1.25), gpt-4o-mini $0.15 / $0.60 (cached $0.075),
  // text-embedding-3-small $0.02, text-embedding-3-large $0.13 per 1M tokens, and self-hosted
  // capacity per hour: "self-hosted-cpu" $0.10, "self-hosted-l4" $0.80, "self-hosted-a100"
  // $3.00. A router config's `prices:` section overrides or adds entries.
  static PriceTable defaults();

  // Sets (or replaces) the price of `model`. REQUIRES: every field >= 0 (checked by the router
  // config loader; throws cairn::OptionsError naming the field otherwise).
  void set(const std::string& model, const Price& price);

  // The price of `model`: the entry of that exact id, else the entry with the longest id that is
  // a prefix of `model` followed by '-', '@' or ':' ("gpt-4o-2024-08-06" → "gpt-4o",
  // "claude-3-5-sonnet-20241022" → "claude-3-5-sonnet"). std::nullopt: the model is unpriced
  // (a budget refuses to run it).
  std::optional<Price> find(std::string_view model) const;

  // Every entry of `overrides` replaces or adds the entry of the same model.
  void merge(const PriceTable& overrides);

  const std::map<std::string, Price, std::less<>>& entries() const { return prices_; }
  bool operator==(const PriceTable&) const = default;

 private:
  std::map<std::string, Price, std::less<>> prices_;
};

// The cost of one call: uncached prompt tokens at the input price, cached tokens (which are part
// of prompt_tokens; clamped to it) at the cached price, completion tokens at the output price,
// plus `duration_ms` at per_hour. Summed exactly and rounded up once to a whole micro-dollar.
// Negative counts and durations count as 0. Saturates at INT64_MAX instead of overflowing.
Micros cost(const Price& price, const Usage& usage, int64_t duration_ms);

// The most a call within these bounds can cost — what a budget reserves before the call: every
// prompt token at the higher of the input and cached prices, every completion token at the
// output price, the whole duration at per_hour; rounded up. For any usage with
// prompt_tokens <= max_prompt_tokens, completion_tokens <= max_completion_tokens and a duration
// <= max_duration_ms, cost(...) <= max_cost(...).
Micros max_cost(const Price& price, int64_t max_prompt_tokens, int64_t max_completion_tokens,
                int64_t max_duration_ms);

}  // namespace cairn::ai
