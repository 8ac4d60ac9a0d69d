// cairn_deploy: the areas' sources are listed in deploy/cmake/<area>.cmake.
namespace cairn::deploy {
// The module's version of the stack spec format (`version:` in a stack file).
extern const int kStackSpecVersion = 1;
}  // namespace cairn::deploy
