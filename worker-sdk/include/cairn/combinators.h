// Futures combinators for workflow code: wait for all or any of several activity, timer or local
// activity futures. They suspend the workflow fiber like Future::get() and are deterministic on
// replay: readiness changes only as history events are applied, and any_of breaks ties by the
// lowest index. Workflow fiber only.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <type_traits>
#include <vector>

#include "cairn/workflow.h"

namespace cairn {

// Waits until every future is ready (completed, failed or canceled); a failure does not end the
// wait early. Read each outcome with get() afterwards.
template <class... T>
void all_of(const Future<T>&... futures) {
  static_assert(sizeof...(T) > 0, "all_of needs at least one future");
  detail::WorkflowCore* core = (futures.core(), ...);
  core->await_condition([&] { return (futures.ready() && ...); }, std::nullopt);
}

// Waits until every future is ready, then returns their values in order; throws the error of the
// first failed one (by index). An empty vector returns at once.
template <class T>
std::conditional_t<std::is_void_v<T>, void, std::vector<T>> all_of(
    std::vector<Future<T>>& futures) {
  if (!futures.empty()) {
    futures.front().core()->await_condition(
        [&] {
          for (const auto& f : futures) {
            if (!f.ready()) {
              return false;
            }
          }
          return true;
        },
        std::nullopt);
  }
  if constexpr (std::is_void_v<T>) {
    for (auto& f : futures) {
      f.get();
    }
  } else {
    std::vector<T> values;
    values.reserve(futures.size());
    for (auto& f : futures) {
      values.push_back(f.get());
    }
    return values;
  }
}

// Waits until at least one future is ready and returns the index of the first ready one.
template <class... T>
size_t any_of(const Future<T>&... futures) {
  static_assert(sizeof...(T) > 0, "any_of needs at least one future");
  detail::WorkflowCore* core = (futures.core(), ...);
  core->await_condition([&] { return (futures.ready() || ...); }, std::nullopt);
  size_t index = 0;
  size_t found = sizeof...(T);
  ((found == sizeof...(T) && futures.ready() ? found = index : 0, ++index), ...);
  return found;
}

// The same over a vector. REQUIRES: !futures.empty() (throws std::invalid_argument).
template <class T>
size_t any_of(const std::vector<Future<T>>& futures) {
  if (futures.empty()) {
    throw std::invalid_argument("cairn::any_of: no futures");
  }
  auto first_ready = [&] {
    for (size_t i = 0; i < futures.size(); ++i) {
      if (futures[i].ready()) {
        return i;
      }
    }
    return futures.size();
  };
  futures.front().core()->await_condition([&] { return first_ready() < futures.size(); },
                                          std::nullopt);
  return first_ready();
}

}  // namespace cairn
