// The price table and the integer cost math. Token prices are per million tokens and time prices
// per hour (3,600,000 ms), so one call's exact cost is a fraction over lcm(10^6, 3.6·10^6) =
// 18·10^6; it is summed in 128-bit integers and rounded up once.
#include "cairn/ai/pricing.h"

#include <algorithm>
#include <limits>

#include "cairn/errors.h"

namespace cairn::ai {
namespace {

using Wide = __int128;

constexpr Wide kDenominator = 18'000'000;  // lcm of the two below
constexpr Wide kTokenScale = 18;           // 18·10^6 / 10^6
constexpr Wide kHourScale = 5;             // 18·10^6 / 3.6·10^6
constexpr Micros kPerDollar = kMicrosPerDollar;

// Counts and prices are clamped to [0, 2^50] so that no product or sum below can overflow 128
// bits (2^50 tokens or micro-dollars is far beyond any real call); results saturate instead.
constexpr int64_t kClamp = int64_t{1} << 50;
int64_t non_negative(int64_t v) { return v < 0 ? 0 : std::min(v, kClamp); }

Micros ceil_to_micros(Wide numerator) {
  Wide micros = (numerator + kDenominator - 1) / kDenominator;
  if (micros > std::numeric_limits<Micros>::max()) {
    return std::numeric_limits<Micros>::max();
  }
  return static_cast<Micros>(micros);
}

// Dollars and cents as micro-dollars: usd(2, 500000) = $2.50.
constexpr Micros usd(int64_t dollars, int64_t micros = 0) { return dollars * kPerDollar + micros; }

Price tokens(Micros in, Micros out) { return Price{in, out, 0, std::nullopt}; }

void check_price(const std::string& model, const Price& p) {
  auto bad = [&](const char* field, Micros v) {
    if (v < 0) {
      throw OptionsError("price of model \"" + model + "\": " + field +
                             " must not be negative (got " + std::to_string(v) + ")",
                         field);
    }
  };
  bad("input_per_million", p.input_per_million);
  bad("output_per_million", p.output_per_million);
  bad("per_hour", p.per_hour);
  if (p.cached_input_per_million) {
    bad("cached_input_per_million", *p.cached_input_per_million);
  }
}

}  // namespace

PriceTable PriceTable::defaults() {
  PriceTable t;
  t.set("claude-3-5-sonnet", tokens(usd(3), usd(15)));
  t.set("claude-3-5-haiku", tokens(usd(0, 800'000), usd(4)));
  t.set("claude-3-haiku", tokens(usd(0, 250'000), usd(1, 250'000)));
  t.set("claude-3-opus", tokens(usd(15), usd(75)));
  Price gpt4o = tokens(usd(2, 500'000), usd(10));
  gpt4o.cached_input_per_million = usd(1, 250'000);
  t.set("gpt-4o", gpt4o);
  Price mini = tokens(usd(0, 150'000), usd(0, 600'000));
  mini.cached_input_per_million = usd(0, 75'000);
  t.set("gpt-4o-mini", mini);
  t.set("text-embedding-3-small", tokens(usd(0, 20'000), 0));
  t.set("text-embedding-3-large", tokens(usd(0, 130'000), 0));
  t.set("self-hosted-cpu", Price{0, 0, usd(0, 100'000), std::nullopt});
  t.set("self-hosted-l4", Price{0, 0, usd(0, 800'000), std::nullopt});
  t.set("self-hosted-a100", Price{0, 0, usd(3), std::nullopt});
  return t;
}

void PriceTable::set(const std::string& model, const Price& price) {
  check_price(model, price);
  prices_[model] = price;
}

std::optional<Price> PriceTable::find(std::string_view model) const {
  if (auto it = prices_.find(model); it != prices_.end()) {
    return it->second;
  }
  const Price* best = nullptr;
  size_t best_len = 0;
  for (const auto& [id, price] : prices_) {
    if (id.size() < model.size() && id.size() > best_len && model.substr(0, id.size()) == id) {
      char next = model[id.size()];
      if (next == '-' || next == '@' || next == ':') {
        best = &price;
        best_len = id.size();
      }
    }
  }
  if (best == nullptr) {
    return std::nullopt;
  }
  return *best;
}

void PriceTable::merge(const PriceTable& overrides) {
  for (const auto& [model, price] : overrides.prices_) {
    prices_[model] = price;
  }
}

Micros cost(const Price& price, const Usage& usage, int64_t duration_ms) {
  const int64_t prompt = non_negative(usage.prompt_tokens);
  const int64_t cached = std::min(non_negative(usage.cached_tokens), prompt);
  const int64_t completion = non_negative(usage.completion_tokens);
  const Micros cached_price = price.cached_input_per_million.value_or(price.input_per_million);
  Wide token_part = Wide(prompt - cached) * non_negative(price.input_per_million) +
                    Wide(cached) * non_negative(cached_price) +
                    Wide(completion) * non_negative(price.output_per_million);
  Wide time_part = Wide(non_negative(duration_ms)) * non_negative(price.per_hour);
  return ceil_to_micros(token_part * kTokenScale + time_part * kHourScale);
}

Micros max_cost(const Price& price, int64_t max_prompt_tokens, int64_t max_completion_tokens,
                int64_t max_duration_ms) {
  const Micros input = std::max(price.input_per_million,
                                price.cached_input_per_million.value_or(price.input_per_million));
  Wide token_part =
      Wide(non_negative(max_prompt_tokens)) * non_negative(input) +
      Wide(non_negative(max_completion_tokens)) * non_negative(price.output_per_million);
  Wide time_part = Wide(non_negative(max_duration_ms)) * non_negative(price.per_hour);
  return ceil_to_micros(token_part * kTokenScale + time_part * kHourScale);
}

}  // namespace cairn::ai
