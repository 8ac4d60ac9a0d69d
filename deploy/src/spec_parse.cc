// parse_stack (cairn/deploy/spec.h): YAML → JSON-like values with the position of every key and
// value, then the stack's structure (top level, resources, depends_on, cycles). The inputs of each
// resource are checked against its type in spec_validate.cc. Every problem is collected; nothing
// stops at the first one except a YAML syntax error.
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "cairn/deploy/graph.h"
#include "spec_internal.h"

namespace cairn::deploy {
namespace {

using nlohmann::json;
using spec_internal::ParseContext;
using spec_internal::pointer_token;
using spec_internal::suggestion;

Location at(const ParseContext& ctx, const YAML::Mark& mark) {
  return Location{ctx.file, mark.line + 1, mark.column + 1};
}

bool is_resource_name(std::string_view s) {
  static const std::regex re("[a-z][a-z0-9_-]*");
  return std::regex_match(s.begin(), s.end(), re);
}

// A plain (unquoted) scalar by the YAML 1.2 core schema; quoted scalars are always strings.
json scalar_value(const YAML::Node& node) {
  const std::string& s = node.Scalar();
  if (node.Tag() == "!") {
    return s;
  }
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") {
    return nullptr;
  }
  if (s == "true" || s == "True" || s == "TRUE") {
    return true;
  }
  if (s == "false" || s == "False" || s == "FALSE") {
    return false;
  }
  static const std::regex int_re("[-+]?[0-9]+");
  static const std::regex float_re("[-+]?([0-9]+\\.[0-9]*|\\.[0-9]+|[0-9]+)([eE][-+]?[0-9]+)?");
  if (std::regex_match(s, int_re)) {
    try {
      return std::stoll(s);
    } catch (const std::out_of_range&) {
      return s;
    }
  }
  if (std::regex_match(s, float_re)) {
    return std::stod(s);
  }
  return s;
}

json convert(const YAML::Node& node, const std::string& pointer, ParseContext& ctx) {
  ctx.value_positions[pointer] = at(ctx, node.Mark());
  switch (node.Type()) {
    case YAML::NodeType::Scalar:
      return scalar_value(node);
    case YAML::NodeType::Sequence: {
      json out = json::array();
      size_t i = 0;
      for (const auto& item : node) {
        out.push_back(convert(item, pointer + "/" + std::to_string(i++), ctx));
      }
      return out;
    }
    case YAML::NodeType::Map: {
      json out = json::object();
      for (const auto& kv : node) {
        std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "";
        Location key_at = at(ctx, kv.first.Mark());
        if (!kv.first.IsScalar()) {
          ctx.error(key_at, "a key must be a plain name, not a list or a map");
          continue;
        }
        std::string child = pointer + "/" + pointer_token(key);
        if (out.contains(key)) {
          Location first = ctx.key_at(child);
          if (pointer == "/resources") {
            ctx.error(key_at, "duplicate resource name \"" + key + "\" (first defined at " +
                                  first.to_string() + ")");
          } else {
            ctx.error(key_at,
                      "field \"" + key + "\" given twice (first at " + first.to_string() + ")");
          }
          continue;
        }
        ctx.key_positions[child] = key_at;
        ctx.key_order[pointer].push_back(key);
        out[key] = convert(kv.second, child, ctx);
      }
      return out;
    }
    default:
      return nullptr;
  }
}

std::vector<std::string> keys_of(const std::vector<const char*>& names) {
  return {names.begin(), names.end()};
}

// Reports fields of `object` (at `pointer`) not in `allowed`.
void check_fields(const json& object, const std::string& pointer, const char* what,
                  const std::vector<std::string>& allowed, ParseContext& ctx) {
  for (auto it = object.begin(); it != object.end(); ++it) {
    if (std::find(allowed.begin(), allowed.end(), it.key()) == allowed.end()) {
      ctx.error(ctx.key_at(pointer + "/" + pointer_token(it.key())),
                std::string("unknown field \"") + it.key() + "\" in " + what +
                    suggestion(it.key(), allowed));
    }
  }
}

void parse_policy(const json& policy, ParseContext& ctx, ApprovalPolicy& out) {
  if (!policy.is_object()) {
    ctx.error(ctx.value_at("/policy"),
              "policy must be a map, not " + spec_internal::describe(policy));
    return;
  }
  check_fields(policy, "/policy", "policy", {"max_added_cost_per_hour", "approve_data_loss"}, ctx);
  if (auto it = policy.find("max_added_cost_per_hour"); it != policy.end()) {
    auto m = money_micros(*it);
    if (!m || *m < 0) {
      ctx.error(ctx.value_at("/policy/max_added_cost_per_hour"),
                "policy.max_added_cost_per_hour must be dollars per hour (a number >= 0, at most "
                "6 decimals), not " +
                    spec_internal::describe(*it));
    } else {
      out.max_added_cost_per_hour = *m;
    }
  }
  if (auto it = policy.find("approve_data_loss"); it != policy.end()) {
    if (!it->is_boolean()) {
      ctx.error(
          ctx.value_at("/policy/approve_data_loss"),
          "policy.approve_data_loss must be true or false, not " + spec_internal::describe(*it));
    } else {
      out.approve_data_loss = it->get<bool>();
    }
  }
}

// The resource's type, or nullptr after reporting why.
const TypeSchema* resource_type(const json& body, const std::string& pointer,
                                const std::string& name, ParseContext& ctx) {
  auto it = body.find("type");
  if (it == body.end()) {
    ctx.error(ctx.key_at(pointer),
              "resource \"" + name + "\" has no type" + suggestion("", type_names()));
    return nullptr;
  }
  if (!it->is_string()) {
    ctx.error(
        ctx.value_at(pointer + "/type"),
        "resource \"" + name + "\": type must be a string, not " + spec_internal::describe(*it));
    return nullptr;
  }
  const TypeSchema* type = find_type(it->get<std::string>());
  if (type == nullptr) {
    ctx.error(ctx.value_at(pointer + "/type"),
              "resource \"" + name + "\": unknown type \"" + it->get<std::string>() + "\"" +
                  suggestion(it->get<std::string>(), type_names()));
  }
  return type;
}

void parse_depends_on(const json& body, const std::string& pointer, ResourceSpec& r,
                      const std::map<std::string, spec_internal::KnownResource>& known,
                      ParseContext& ctx) {
  auto it = body.find("depends_on");
  if (it == body.end()) {
    return;
  }
  if (!it->is_array()) {
    ctx.error(ctx.value_at(pointer + "/depends_on"),
              "resource \"" + r.name + "\": depends_on must be a list of resource names");
    return;
  }
  std::vector<std::string> names;
  for (const auto& [name, _] : known) {
    names.push_back(name);
  }
  for (size_t i = 0; i < it->size(); ++i) {
    const json& d = (*it)[i];
    std::string p = pointer + "/depends_on/" + std::to_string(i);
    if (!d.is_string()) {
      ctx.error(ctx.value_at(p), "resource \"" + r.name +
                                     "\": depends_on lists resource names, not " +
                                     spec_internal::describe(d));
      continue;
    }
    if (known.count(d.get<std::string>()) == 0) {
      ctx.error(ctx.value_at(p), "resource \"" + r.name + "\": depends_on names \"" +
                                     d.get<std::string>() + "\", which is not a resource" +
                                     suggestion(d.get<std::string>(), names));
      continue;
    }
    r.depends_on.push_back(d.get<std::string>());
  }
}

void report_cycles(const std::vector<ResourceSpec>& resources, ParseContext& ctx) {
  DependencyGraph graph;
  for (const auto& r : resources) {
    graph.add_node(r.name);
  }
  for (const auto& r : resources) {
    for (const auto& d : r.dependencies()) {
      if (graph.contains(d)) {
        graph.add_edge(r.name, d);
      }
    }
  }
  for (const auto& cycle : graph.cycles()) {
    const ResourceSpec* first = nullptr;
    for (const auto& r : resources) {
      if (r.name == cycle.front()) {
        first = &r;
      }
    }
    ctx.error(first ? first->location : Location{ctx.file, 0, 0},
              "dependency cycle: " + format_cycle(cycle) +
                  " (break it: a resource cannot depend on itself, directly or through others)");
  }
}

std::string dir_of(std::string_view file) {
  size_t slash = file.rfind('/');
  if (slash == std::string_view::npos) {
    return ".";
  }
  return slash == 0 ? "/" : std::string(file.substr(0, slash));
}

}  // namespace

const ResourceSpec* StackSpec::find(std::string_view resource) const {
  for (const auto& r : resources) {
    if (r.name == resource) {
      return &r;
    }
  }
  return nullptr;
}

std::vector<std::string> ResourceSpec::dependencies() const {
  std::vector<std::string> out;
  auto add = [&](const std::string& n) {
    if (std::find(out.begin(), out.end(), n) == out.end()) {
      out.push_back(n);
    }
  };
  for (const auto& ref : references_in(inputs)) {
    add(ref.resource);
  }
  for (const auto& d : depends_on) {
    add(d);
  }
  return out;
}

StackParseResult parse_stack(std::string_view text, std::string_view file_name) {
  ParseContext ctx;
  ctx.file = std::string(file_name);
  {
    std::string line;
    std::istringstream in{std::string(text)};
    while (std::getline(in, line)) {
      ctx.lines.push_back(line);
    }
  }
  StackParseResult result;
  json doc;
  try {
    YAML::Node root = YAML::Load(std::string(text));
    doc = convert(root, "", ctx);
  } catch (const YAML::Exception& e) {
    result.errors.add(at(ctx, e.mark), "YAML syntax: " + e.msg);
    return result;
  }
  StackSpec spec;
  spec.file = ctx.file;
  spec.base_dir = dir_of(file_name);
  if (!doc.is_object()) {
    ctx.error(Location{ctx.file, 1, 1},
              "a stack spec is a map with name, version, policy and resources");
    result.errors = std::move(ctx.errors);
    return result;
  }
  check_fields(doc, "", "the stack",
               keys_of({"name", "version", "policy", "reconcile", "resources"}), ctx);
  if (auto it = doc.find("name"); it == doc.end()) {
    ctx.error(Location{ctx.file, 1, 1}, "the stack has no name (add name: my-stack)");
  } else if (!it->is_string() || !is_resource_name(it->get<std::string>())) {
    ctx.error(ctx.value_at("/name"),
              "the stack's name must match [a-z][a-z0-9_-]* (lowercase letters, digits, _ and -)");
  } else {
    spec.name = it->get<std::string>();
  }
  if (auto it = doc.find("version"); it != doc.end()) {
    if (!it->is_number_integer() || it->get<int64_t>() != kStackSpecVersion) {
      ctx.error(ctx.value_at("/version"), "unsupported version " + it->dump() +
                                              " (this Cairn reads version " +
                                              std::to_string(kStackSpecVersion) + ")");
    }
  }
  spec.version = kStackSpecVersion;
  if (auto it = doc.find("policy"); it != doc.end()) {
    parse_policy(*it, ctx, spec.policy);
  }
  if (auto it = doc.find("reconcile"); it != doc.end()) {
    spec_internal::parse_reconcile(*it, ctx, spec.reconcile);
  }
  auto res = doc.find("resources");
  if (res == doc.end() || !res->is_object() || res->empty()) {
    ctx.error(res == doc.end() ? Location{ctx.file, 1, 1} : ctx.value_at("/resources"),
              "the stack needs resources: a map from resource name to {type, inputs}");
    res = doc.end();
  }

  // First pass: names and types, so references can be checked whatever their order.
  std::map<std::string, spec_internal::KnownResource> known;
  std::vector<std::pair<ResourceSpec, const TypeSchema*>> parsed;
  if (res != doc.end()) {
    for (const std::string& name : ctx.key_order["/resources"]) {  // file order
      auto it = res->find(name);
      std::string pointer = "/resources/" + pointer_token(it.key());
      ResourceSpec r;
      r.name = it.key();
      r.location = ctx.key_at(pointer);
      if (!is_resource_name(r.name)) {
        ctx.error(r.location, "resource name \"" + r.name +
                                  "\" must match [a-z][a-z0-9_-]* (lowercase letters, digits, _ "
                                  "and -, starting with a letter)");
      }
      const TypeSchema* type = nullptr;
      if (!it->is_object()) {
        ctx.error(ctx.value_at(pointer), "resource \"" + r.name +
                                             "\" must be a map with type and inputs, not " +
                                             spec_internal::describe(*it));
      } else {
        check_fields(*it, pointer, ("resource \"" + r.name + "\"").c_str(),
                     keys_of({"type", "inputs", "depends_on", "scaling"}), ctx);
        type = resource_type(*it, pointer, r.name, ctx);
        if (auto t = it->find("type"); t != it->end() && t->is_string()) {
          r.type = t->get<std::string>();
        }
        if (auto in = it->find("inputs"); in != it->end()) {
          if (in->is_object()) {
            r.inputs = *in;
          } else if (!in->is_null()) {
            ctx.error(ctx.value_at(pointer + "/inputs"), "resource \"" + r.name +
                                                             "\": inputs must be a map, not " +
                                                             spec_internal::describe(*in));
          }
        }
      }
      parsed.emplace_back(std::move(r), type);
    }
    for (const auto& [r, type] : parsed) {
      known[r.name] = spec_internal::KnownResource{type, &r.inputs, r.type};
    }
  }

  // Second pass: inputs, references, depends_on.
  for (auto& [r, type] : parsed) {
    std::string pointer = "/resources/" + pointer_token(r.name);
    if (type != nullptr) {
      spec_internal::validate_inputs(r, *type, pointer + "/inputs", known, ctx);
    }
    if (auto body = res->find(r.name); body != res->end() && body->is_object()) {
      parse_depends_on(*body, pointer, r, known, ctx);
    }
  }
  for (auto& [r, type] : parsed) {
    spec.resources.push_back(r);
  }
  // Scaling after inputs: target tracking reads the router's completed inputs.
  for (auto& r : spec.resources) {
    auto body = res->find(r.name);
    if (body->is_object() && body->contains("scaling")) {
      spec_internal::parse_scaling((*body)["scaling"],
                                   "/resources/" + pointer_token(r.name) + "/scaling", r,
                                   spec.resources, ctx);
    }
  }
  // Edges only to resources that exist (references to others were reported above).
  report_cycles(spec.resources, ctx);

  ctx.errors.sort();
  result.errors = std::move(ctx.errors);
  if (result.errors.empty()) {
    result.spec = std::move(spec);
  }
  return result;
}

StackParseResult load_stack(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    StackParseResult result;
    result.errors.add(Location{path, 0, 0}, "cannot read the stack spec " + path);
    return result;
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  return parse_stack(buf.str(), path);
}

StackSpec load_stack_or_throw(const std::string& path) {
  auto result = load_stack(path);
  if (!result.ok()) {
    throw StackSpecError(std::move(result.errors));
  }
  return std::move(*result.spec);
}

}  // namespace cairn::deploy
