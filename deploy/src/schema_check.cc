// check_inputs (cairn/deploy/types.h): a resource's JSON inputs against its type's schema, as
// the providers receive them; and value_problem (spec_internal.h), the per-value rules the spec
// validator shares. The spec validator walks YAML positions and fills defaults; this walks JSON
// only, with the same rules, so what the spec accepts a provider's check() accepts.
#include <algorithm>

#include "cairn/deploy/spec.h"
#include "spec_internal.h"

namespace cairn::deploy {
namespace spec_internal {
namespace {

using nlohmann::json;

bool has_kind(const json& v, ValueKind k) {
  switch (k) {
    case ValueKind::kAny:
      return true;
    case ValueKind::kString:
      return v.is_string();
    case ValueKind::kInt:
      return v.is_number_integer();
    case ValueKind::kNumber:
    case ValueKind::kMoney:
      return v.is_number();
    case ValueKind::kBool:
      return v.is_boolean();
    case ValueKind::kList:
      return v.is_array();
    case ValueKind::kMap:
      return v.is_object();
  }
  return false;
}

}  // namespace

std::string value_problem(const json& value, const InputSchema& s, const std::string& path) {
  if (!has_kind(value, s.kind)) {
    return "\"" + path + "\" must be " + kind_name(s.kind) + ", not " + describe(value);
  }
  switch (s.kind) {
    case ValueKind::kString:
      if (!s.allowed.empty() && std::find(s.allowed.begin(), s.allowed.end(),
                                          value.get<std::string>()) == s.allowed.end()) {
        return "\"" + path + "\" cannot be \"" + value.get<std::string>() + "\"" +
               suggestion(value.get<std::string>(), s.allowed);
      }
      break;
    case ValueKind::kInt: {
      int64_t v = value.get<int64_t>();
      if ((s.min && v < *s.min) || (s.max && v > *s.max)) {
        std::string bounds =
            s.min && s.max ? "between " + std::to_string(*s.min) + " and " + std::to_string(*s.max)
            : s.min        ? "at least " + std::to_string(*s.min)
                           : "at most " + std::to_string(*s.max);
        return "\"" + path + "\" must be " + bounds + ", not " + std::to_string(v);
      }
      break;
    }
    case ValueKind::kMoney: {
      auto m = money_micros(value);
      if (!m || *m < 0) {
        return "\"" + path + "\" must be dollars: a number >= 0 with at most 6 decimals";
      }
      break;
    }
    default:
      break;
  }
  return "";
}

}  // namespace spec_internal

namespace {

using nlohmann::json;
using spec_internal::suggestion;

const char* kSecretHowTo =
    "give it as {secret: \"env:NAME\"} or {secret: \"file:PATH\"}; secrets are accepted only by "
    "reference";

std::string join(const std::string& path, const std::string& name) {
  return path.empty() ? name : path + "." + name;
}

class JsonChecker {
 public:
  explicit JsonChecker(std::vector<InputError>* errors) : errors_(errors) {}

  // A map with fixed fields: the inputs themselves (path "") or a nested map such as health.
  void fields(const json& object, const std::vector<InputSchema>& schema, const std::string& path,
              bool free_form) {
    std::vector<std::string> names;
    for (const auto& f : schema) {
      names.push_back(f.name);
    }
    const char* what = path.empty() ? "input" : "field";
    for (auto it = object.begin(); it != object.end(); ++it) {
      auto f = std::find_if(schema.begin(), schema.end(),
                            [&](const InputSchema& s) { return s.name == it.key(); });
      std::string child = join(path, it.key());
      if (f != schema.end()) {
        value(it.value(), *f, child);
      } else if (!free_form) {
        add(child,
            "unknown " + std::string(what) + " \"" + child + "\"" + suggestion(it.key(), names));
      }
    }
    for (const auto& f : schema) {
      if (f.required && !object.contains(f.name)) {
        add(join(path, f.name), "missing required " + std::string(what) + " \"" +
                                    join(path, f.name) + "\" (" + kind_name(f.kind) +
                                    (f.doc.empty() ? "" : ": " + f.doc) + ")");
      }
    }
  }

 private:
  void add(const std::string& field, std::string message) {
    errors_->push_back({field, std::move(message)});
  }

  void value(const json& v, const InputSchema& s, const std::string& path) {
    if (is_known_after_apply(v)) {
      return;  // a plan's output not known yet: its kind is checked once it is
    }
    if (v.is_object() && v.contains("secret")) {
      secret_ref(v, s, path);
      return;
    }
    if (s.secret) {
      add(path, "input \"" + path + "\" is a secret: " + kSecretHowTo);
      return;
    }
    if (v.is_null()) {
      add(path, "\"" + path + "\" has no value (give " + std::string(kind_name(s.kind)) +
                    ", or leave the field out)");
      return;
    }
    if (std::string problem = spec_internal::value_problem(v, s, path); !problem.empty()) {
      add(path, problem);
      return;
    }
    if (s.kind == ValueKind::kList && !s.element.empty()) {
      for (size_t i = 0; i < v.size(); ++i) {
        value(v[i], s.element.front(), path + "[" + std::to_string(i) + "]");
      }
    } else if (s.kind == ValueKind::kMap && !s.fields.empty()) {
      fields(v, s.fields, path, /*free_form=*/false);
    } else if (s.kind == ValueKind::kMap) {
      InputSchema each;
      each.kind = s.map_values;
      for (auto it = v.begin(); it != v.end(); ++it) {
        each.name = it.key();
        value(it.value(), each, path + "." + it.key());
      }
    }
  }

  // {secret: "env:NAME"}; a recorded one may also carry its "digest". The text is not quoted
  // back: a value pasted there by mistake must not reach a log.
  void secret_ref(const json& v, const InputSchema& s, const std::string& path) {
    bool only_ref = v.size() == 1 || (v.size() == 2 && v.contains("digest"));
    if (!only_ref || !v["secret"].is_string() ||
        !parse_secret_ref(v["secret"].get<std::string>())) {
      add(path, "\"" + path +
                    "\": a secret reference is {secret: \"env:NAME\"} or {secret: \"file:PATH\"} "
                    "with nothing else in the map");
      return;
    }
    if (s.kind != ValueKind::kString && s.kind != ValueKind::kAny) {
      add(path,
          "\"" + path + "\" must be " + kind_name(s.kind) + "; a secret reference gives a string");
    }
  }

  std::vector<InputError>* errors_;
};

}  // namespace

std::vector<InputError> check_inputs(const TypeSchema& type, const json& inputs) {
  std::vector<InputError> errors;
  if (!inputs.is_object()) {
    errors.push_back(
        {"", type.name + " inputs: expected a map, not " + spec_internal::describe(inputs)});
    return errors;
  }
  JsonChecker(&errors).fields(inputs, type.inputs, "", type.free_form);
  return errors;
}

}  // namespace cairn::deploy
