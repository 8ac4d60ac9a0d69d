// The dependency graph of a stack: an edge from a resource to each resource it references or
// names in depends_on. Gives the apply order as waves (resources in one wave are independent and
// may run in parallel), the reverse waves for destroy and rollback, and cycles by name.
// A plain value; thread-compatible.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace cairn::deploy {

struct StackSpec;

class DependencyGraph {
 public:
  // Adds a node; adding one twice is a no-op. Nodes keep the order they were added in, which
  // orders the resources inside a wave.
  void add_node(const std::string& name);
  // `from` depends on `to`. REQUIRES: both added. Adding an edge twice is a no-op.
  void add_edge(const std::string& from, const std::string& to);

  bool contains(const std::string& name) const { return index_.count(name) != 0; }
  const std::vector<std::string>& nodes() const { return names_; }
  std::vector<std::string> dependencies(const std::string& name) const;  // direct, added order
  std::vector<std::string> dependents(const std::string& name) const;    // direct, node order

  // Each cycle once, as a path that starts and ends at its earliest-added node
  // ({"a", "b", "c", "a"}); a self-edge is {"a", "a"}. Empty when the graph is acyclic.
  std::vector<std::vector<std::string>> cycles() const;

  // Apply order: wave 0 holds the nodes without dependencies; a node is in the wave after the
  // latest of its dependencies. Inside a wave, nodes are in added order.
  // Throws std::logic_error naming a cycle when there is one.
  std::vector<std::vector<std::string>> waves() const;
  // Destroy / rollback order: wave 0 holds the nodes nothing depends on; a node comes in the
  // wave after the latest of its dependents, so every node goes after all that depend on it.
  // Throws std::logic_error naming a cycle when there is one.
  std::vector<std::vector<std::string>> reverse_waves() const;

 private:
  std::vector<std::vector<std::string>> layered(bool by_dependents) const;

  std::vector<std::string> names_;
  std::map<std::string, size_t> index_;
  std::vector<std::vector<size_t>> deps_;  // by node index, in added order
};

// The graph of a spec: its resources, in file order, and their dependencies() that exist.
DependencyGraph graph_of(const StackSpec& spec);

// "a -> b -> c -> a"
std::string format_cycle(const std::vector<std::string>& cycle);

}  // namespace cairn::deploy
