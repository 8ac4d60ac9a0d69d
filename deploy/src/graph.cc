// DependencyGraph (cairn/deploy/graph.h): Tarjan's strongly connected components for cycles,
// longest-path layering for waves.
#include "cairn/deploy/graph.h"

#include <algorithm>
#include <functional>
#include <stdexcept>

#include "cairn/deploy/spec.h"

namespace cairn::deploy {

void DependencyGraph::add_node(const std::string& name) {
  if (index_.count(name) != 0) {
    return;
  }
  index_[name] = names_.size();
  names_.push_back(name);
  deps_.emplace_back();
}

void DependencyGraph::add_edge(const std::string& from, const std::string& to) {
  size_t f = index_.at(from);
  size_t t = index_.at(to);
  if (std::find(deps_[f].begin(), deps_[f].end(), t) == deps_[f].end()) {
    deps_[f].push_back(t);
  }
}

std::vector<std::string> DependencyGraph::dependencies(const std::string& name) const {
  std::vector<std::string> out;
  for (size_t d : deps_.at(index_.at(name))) {
    out.push_back(names_[d]);
  }
  return out;
}

std::vector<std::string> DependencyGraph::dependents(const std::string& name) const {
  size_t n = index_.at(name);
  std::vector<std::string> out;
  for (size_t i = 0; i < names_.size(); ++i) {
    if (std::find(deps_[i].begin(), deps_[i].end(), n) != deps_[i].end()) {
      out.push_back(names_[i]);
    }
  }
  return out;
}

std::vector<std::vector<std::string>> DependencyGraph::cycles() const {
  // Tarjan: components with more than one node, or a self-edge, are cycles.
  const size_t n = names_.size();
  std::vector<int> index(n, -1), low(n, 0);
  std::vector<bool> on_stack(n, false);
  std::vector<size_t> stack;
  std::vector<std::vector<size_t>> components;
  int counter = 0;
  std::function<void(size_t)> visit = [&](size_t v) {
    index[v] = low[v] = counter++;
    stack.push_back(v);
    on_stack[v] = true;
    for (size_t w : deps_[v]) {
      if (index[w] < 0) {
        visit(w);
        low[v] = std::min(low[v], low[w]);
      } else if (on_stack[w]) {
        low[v] = std::min(low[v], index[w]);
      }
    }
    if (low[v] == index[v]) {
      std::vector<size_t> comp;
      size_t w;
      do {
        w = stack.back();
        stack.pop_back();
        on_stack[w] = false;
        comp.push_back(w);
      } while (w != v);
      bool self = std::find(deps_[v].begin(), deps_[v].end(), v) != deps_[v].end();
      if (comp.size() > 1 || self) {
        components.push_back(std::move(comp));
      }
    }
  };
  for (size_t v = 0; v < n; ++v) {
    if (index[v] < 0) {
      visit(v);
    }
  }
  std::vector<std::vector<std::string>> out;
  for (auto& comp : components) {
    std::vector<bool> in_comp(n, false);
    for (size_t v : comp) {
      in_comp[v] = true;
    }
    size_t start = *std::min_element(comp.begin(), comp.end());
    // A shortest path back to `start` inside the component (breadth first, edges in added
    // order), so the named cycle is a real one and reads the same on every run.
    std::vector<long> parent(n, -1);
    std::vector<size_t> queue{start};
    std::vector<bool> seen(n, false);
    long last = -1;
    for (size_t q = 0; q < queue.size() && last < 0; ++q) {
      size_t v = queue[q];
      for (size_t w : deps_[v]) {
        if (w == start) {
          last = static_cast<long>(v);
          break;
        }
        if (in_comp[w] && !seen[w]) {
          seen[w] = true;
          parent[w] = static_cast<long>(v);
          queue.push_back(w);
        }
      }
    }
    std::vector<std::string> path{names_[start]};
    for (long v = last; v >= 0 && static_cast<size_t>(v) != start; v = parent[v]) {
      path.push_back(names_[v]);
    }
    std::reverse(path.begin() + 1, path.end());
    path.push_back(names_[start]);
    out.push_back(std::move(path));
  }
  std::sort(out.begin(), out.end(), [&](const auto& a, const auto& b) {
    return index_.at(a.front()) < index_.at(b.front());
  });
  return out;
}

std::vector<std::vector<std::string>> DependencyGraph::layered(bool by_dependents) const {
  if (auto c = cycles(); !c.empty()) {
    throw std::logic_error("dependency cycle: " + format_cycle(c.front()));
  }
  const size_t n = names_.size();
  std::vector<std::vector<size_t>> edges(n);  // the nodes each node must come after
  for (size_t v = 0; v < n; ++v) {
    for (size_t d : deps_[v]) {
      if (by_dependents) {
        edges[d].push_back(v);
      } else {
        edges[v].push_back(d);
      }
    }
  }
  std::vector<int> level(n, -1);
  std::function<int(size_t)> depth = [&](size_t v) {
    if (level[v] >= 0) {
      return level[v];
    }
    int l = 0;
    for (size_t e : edges[v]) {
      l = std::max(l, depth(e) + 1);
    }
    return level[v] = l;
  };
  std::vector<std::vector<std::string>> waves;
  for (size_t v = 0; v < n; ++v) {
    size_t l = static_cast<size_t>(depth(v));
    if (waves.size() <= l) {
      waves.resize(l + 1);
    }
  }
  for (size_t v = 0; v < n; ++v) {
    waves[level[v]].push_back(names_[v]);
  }
  return waves;
}

std::vector<std::vector<std::string>> DependencyGraph::waves() const { return layered(false); }

std::vector<std::vector<std::string>> DependencyGraph::reverse_waves() const {
  return layered(true);
}

DependencyGraph graph_of(const StackSpec& spec) {
  DependencyGraph g;
  for (const auto& r : spec.resources) {
    g.add_node(r.name);
  }
  for (const auto& r : spec.resources) {
    for (const auto& d : r.dependencies()) {
      if (g.contains(d)) {
        g.add_edge(r.name, d);
      }
    }
  }
  return g;
}

std::string format_cycle(const std::vector<std::string>& cycle) {
  std::string out;
  for (const auto& n : cycle) {
    out += (out.empty() ? "" : " -> ") + n;
  }
  return out;
}

}  // namespace cairn::deploy
