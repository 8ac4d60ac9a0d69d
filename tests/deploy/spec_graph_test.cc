// The dependency graph: waves in dependency order, reverse waves for destroy, cycles by name.
#include <stdexcept>

#include <gtest/gtest.h>

#include "cairn/deploy/graph.h"
#include "cairn/deploy/spec.h"
#include "spec_test_util.h"

namespace cairn::deploy {
namespace {

using Waves = std::vector<std::vector<std::string>>;

DependencyGraph diamond() {
  // app -> router -> {economy, premium}; app -> cache; index -> economy.
  DependencyGraph g;
  for (const char* n : {"app", "router", "economy", "premium", "cache", "index"}) {
    g.add_node(n);
  }
  g.add_edge("app", "router");
  g.add_edge("app", "cache");
  g.add_edge("router", "economy");
  g.add_edge("router", "premium");
  g.add_edge("index", "economy");
  return g;
}

TEST(SpecGraph, WavesPutIndependentResourcesTogetherInDependencyOrder) {
  DependencyGraph g = diamond();
  EXPECT_EQ(g.waves(), (Waves{{"economy", "premium", "cache"}, {"router", "index"}, {"app"}}));
  EXPECT_TRUE(g.cycles().empty());
  EXPECT_EQ(g.dependencies("router"), (std::vector<std::string>{"economy", "premium"}));
  EXPECT_EQ(g.dependents("economy"), (std::vector<std::string>{"router", "index"}));
}

TEST(SpecGraph, ReverseWavesDeleteEachResourceAfterEverythingThatDependsOnIt) {
  DependencyGraph g = diamond();
  // Nothing depends on app or index: they go first; cache only waits for app.
  EXPECT_EQ(g.reverse_waves(),
            (Waves{{"app", "index"}, {"router", "cache"}, {"economy", "premium"}}));
}

TEST(SpecGraph, CyclesAreNamedFromTheirFirstResource) {
  DependencyGraph g;
  for (const char* n : {"x", "a", "b", "c", "d", "self"}) {
    g.add_node(n);
  }
  g.add_edge("a", "b");
  g.add_edge("b", "c");
  g.add_edge("c", "a");
  g.add_edge("c", "d");
  g.add_edge("x", "a");
  g.add_edge("self", "self");
  auto cycles = g.cycles();
  ASSERT_EQ(cycles.size(), 2u);
  EXPECT_EQ(format_cycle(cycles[0]), "a -> b -> c -> a");
  EXPECT_EQ(format_cycle(cycles[1]), "self -> self");
  try {
    (void)g.waves();
    FAIL() << "waves of a cyclic graph";
  } catch (const std::logic_error& e) {
    EXPECT_STREQ(e.what(), "dependency cycle: a -> b -> c -> a");
  }
}

TEST(SpecGraph, GraphOfASpecUsesReferencesAndDependsOn) {
  StackSpec spec = testing::parse_ok(R"(name: s
resources:
  app:
    type: process
    inputs: {command: /bin/app, env: {REDIS: "${cache.url}"}}
    depends_on: [migrate]
  migrate:
    type: command
    inputs: {create: ./migrate.sh}
  cache: {type: redis}
)");
  DependencyGraph g = graph_of(spec);
  EXPECT_EQ(g.nodes(), (std::vector<std::string>{"app", "migrate", "cache"}));
  EXPECT_EQ(g.waves(), (Waves{{"migrate", "cache"}, {"app"}}));
  EXPECT_EQ(g.reverse_waves(), (Waves{{"app"}, {"migrate", "cache"}}));
}

}  // namespace
}  // namespace cairn::deploy
