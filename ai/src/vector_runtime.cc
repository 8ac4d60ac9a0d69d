// register_vector_activities over an AiRuntime: the query activity embeds through the runtime's
// embedding tier (AiRuntime::embed, the same code as the "cairn.ai.embed" activity).
#include "cairn/ai/runtime.h"
#include "cairn/ai/vector_activities.h"

namespace cairn::ai {

void register_vector_activities(Worker& worker, VectorRegistry& registry, AiRuntime* runtime) {
  Embedder embed;
  if (runtime != nullptr) {
    embed = [runtime](ActivityContext& ctx, const EmbedAttempt& attempt) {
      return runtime->embed(ctx, attempt);
    };
  }
  register_vector_activities(worker, registry, std::move(embed));
}

}  // namespace cairn::ai
