// The inputs of one resource against its type's schema (spec_internal.h validate_inputs):
// unknown fields, missing required inputs (defaults filled in), value types, secrets only by
// reference, and references to resources and outputs that exist. Messages never quote a value
// written where a secret belongs.
#include <algorithm>
#include <cctype>

#include "spec_internal.h"

namespace cairn::deploy::spec_internal {
namespace {

using nlohmann::json;

bool compatible(ValueKind expected, ValueKind got) {
  if (expected == ValueKind::kAny || got == ValueKind::kAny || expected == got) {
    return true;
  }
  return (expected == ValueKind::kNumber || expected == ValueKind::kMoney) &&
         (got == ValueKind::kInt || got == ValueKind::kNumber || got == ValueKind::kMoney);
}

// A field name that, by its name, holds a secret: API keys, tokens, passwords.
bool looks_secret(std::string_view name) {
  std::string up;
  for (char c : name) {
    up.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  for (const char* word : {"PASSWORD", "PASSWD", "SECRET", "TOKEN", "API_KEY", "APIKEY",
                           "PRIVATE_KEY", "ACCESS_KEY", "CREDENTIAL"}) {
    if (up.find(word) != std::string::npos) {
      return true;
    }
  }
  return up == "KEY" || (up.size() > 4 && up.substr(up.size() - 4) == "_KEY");
}

const char* kSecretHowTo =
    "give it as {secret: \"env:NAME\"} or {secret: \"file:PATH\"}; secrets are accepted only by "
    "reference, never written in the spec";

class Validator {
 public:
  Validator(ResourceSpec& r, const TypeSchema& type,
            const std::map<std::string, KnownResource>& resources, ParseContext& ctx)
      : r_(r), type_(type), resources_(resources), ctx_(ctx) {
    who_ = "resource \"" + r.name + "\" (" + r.type + ")";
  }

  void run(const std::string& pointer) {
    check_fields(r_.inputs, type_.inputs, pointer, "", /*free_form=*/type_.free_form, pointer);
    if (type_.name == "process") {
      check_health(pointer);
    }
    std::string prefix = pointer;
    for (auto it = ctx_.value_positions.lower_bound(prefix); it != ctx_.value_positions.end();
         ++it) {
      if (it->first.compare(0, prefix.size(), prefix) != 0) {
        break;
      }
      std::string rel = it->first.substr(prefix.size());
      if (rel.empty() || rel[0] == '/') {
        r_.input_locations[rel.empty() ? "" : rel] = it->second;
      }
    }
  }

 private:
  void error(const Location& where, const std::string& message) {
    ctx_.error(where, who_ + ": " + message);
  }

  static std::string join(const std::string& path, const std::string& name) {
    return path.empty() ? name : path + "." + name;
  }

  // A map with fixed fields (the inputs themselves, or a nested map such as health).
  void check_fields(json& object, const std::vector<InputSchema>& fields, const std::string& ptr,
                    const std::string& path, bool free_form, const std::string& missing_at) {
    std::vector<std::string> names;
    for (const auto& f : fields) {
      names.push_back(f.name);
    }
    for (auto it = object.begin(); it != object.end(); ++it) {
      std::string child = ptr + "/" + pointer_token(it.key());
      auto f = std::find_if(fields.begin(), fields.end(),
                            [&](const InputSchema& s) { return s.name == it.key(); });
      if (f != fields.end()) {
        check_value(it.value(), *f, child, join(path, it.key()));
      } else if (free_form) {
        check_free(it.value(), child, join(path, it.key()), it.key());
      } else {
        error(ctx_.key_at(child), "unknown " + std::string(path.empty() ? "input" : "field") +
                                      " \"" + join(path, it.key()) + "\"" +
                                      suggestion(it.key(), names));
      }
    }
    for (const auto& f : fields) {
      if (object.contains(f.name)) {
        continue;
      }
      if (f.required) {
        Location at = ctx_.key_at(missing_at);
        if (at.line == 0) {
          at = r_.location;
        }
        error(at, "missing required " + std::string(path.empty() ? "input" : "field") + " \"" +
                      join(path, f.name) + "\" (" + kind_name(f.kind) +
                      (f.doc.empty() ? "" : ": " + f.doc) + ")");
      } else if (f.default_value) {
        object[f.name] = *f.default_value;
      }
    }
  }

  void check_value(json& value, const InputSchema& s, const std::string& ptr,
                   const std::string& path) {
    if (value.is_object() && value.contains("secret")) {
      check_secret_ref(value, s, ptr, path);
      return;
    }
    if (s.secret) {
      error(ctx_.value_at(ptr), "input \"" + path + "\" is a secret: " + kSecretHowTo);
      return;
    }
    if (value.is_null()) {
      error(ctx_.value_at(ptr), "\"" + path + "\" has no value (give " + kind_name(s.kind) +
                                    ", or leave the field out)");
      return;
    }
    if (value.is_string() && value.get_ref<const std::string&>().find("${") != std::string::npos) {
      size_t before = ctx_.errors.size();
      auto refs = check_refs(value.get_ref<const std::string&>(), ptr);
      if (ctx_.errors.size() != before) {
        return;  // one error per bad reference is enough
      }
      if (!refs.empty()) {
        check_ref_value(value.get_ref<const std::string&>(), refs, s, ptr, path);
        return;
      }
    }
    if (std::string problem = value_problem(value, s, path); !problem.empty()) {
      error(ctx_.value_at(ptr), problem);
      return;
    }
    switch (s.kind) {
      case ValueKind::kList: {
        for (size_t i = 0; i < value.size(); ++i) {
          std::string child = ptr + "/" + std::to_string(i);
          std::string child_path = path + "[" + std::to_string(i) + "]";
          if (s.element.empty()) {
            check_free(value[i], child, child_path, "");
          } else {
            check_value(value[i], s.element.front(), child, child_path);
          }
        }
        break;
      }
      case ValueKind::kMap:
        if (!s.fields.empty()) {
          check_fields(value, s.fields, ptr, path, false, ptr);
        } else {
          for (auto it = value.begin(); it != value.end(); ++it) {
            InputSchema v;
            v.name = it.key();
            v.kind = s.map_values;
            std::string child = ptr + "/" + pointer_token(it.key());
            if (looks_secret(it.key()) && !it.value().is_object() &&
                !(it.value().is_string() && whole_reference(it.value().get<std::string>()))) {
              error(ctx_.value_at(child),
                    "\"" + path + "." + it.key() + "\" looks like a secret: " + kSecretHowTo);
              continue;
            }
            check_value(it.value(), v, child, path + "." + it.key());
          }
        }
        break;
      default:
        break;
    }
  }

  // Free-form values (cloud types' inputs, lists and maps without a schema): only references
  // and secrets are checked.
  void check_free(json& value, const std::string& ptr, const std::string& path,
                  const std::string& key) {
    if (value.is_object() && value.contains("secret")) {
      InputSchema any;
      any.kind = ValueKind::kAny;
      check_secret_ref(value, any, ptr, path);
      return;
    }
    if (!key.empty() && looks_secret(key) && (value.is_string() || value.is_number()) &&
        !(value.is_string() && whole_reference(value.get<std::string>()))) {
      error(ctx_.value_at(ptr), "\"" + path + "\" looks like a secret: " + kSecretHowTo);
      return;
    }
    if (value.is_string()) {
      check_refs(value.get_ref<const std::string&>(), ptr);
    } else if (value.is_array()) {
      for (size_t i = 0; i < value.size(); ++i) {
        check_free(value[i], ptr + "/" + std::to_string(i), path + "[" + std::to_string(i) + "]",
                   "");
      }
    } else if (value.is_object()) {
      for (auto it = value.begin(); it != value.end(); ++it) {
        check_free(it.value(), ptr + "/" + pointer_token(it.key()), path + "." + it.key(),
                   it.key());
      }
    }
  }

  void check_secret_ref(const json& value, const InputSchema& s, const std::string& ptr,
                        const std::string& path) {
    const json& text = value["secret"];
    if (value.size() != 1) {
      error(ctx_.value_at(ptr),
            "a secret reference is {secret: \"env:NAME\"} or {secret: "
            "\"file:PATH\"} with nothing else in the map");
      return;
    }
    // The text is not quoted back: a value pasted here by mistake must not reach a log.
    if (!text.is_string() || !parse_secret_ref(text.get<std::string>())) {
      error(ctx_.value_at(ptr + "/secret"),
            "\"" + path +
                "\": a secret reference must be \"env:NAME\" (an environment "
                "variable name) or \"file:PATH\"");
      return;
    }
    if (s.kind != ValueKind::kString && s.kind != ValueKind::kAny) {
      error(ctx_.value_at(ptr), "\"" + path + "\" must be " + kind_name(s.kind) +
                                    "; a secret reference gives a string");
    }
  }

  // The references in `text`, each checked; the ones that do not resolve are dropped.
  std::vector<std::pair<Reference, ValueKind>> check_refs(const std::string& text,
                                                          const std::string& ptr) {
    std::vector<std::pair<Reference, ValueKind>> out;
    auto refs = parse_references(text, [&](size_t offset, const std::string& problem) {
      error(column_of(ptr, text, offset), problem);
    });
    std::vector<std::string> names;
    for (const auto& [n, _] : resources_) {
      names.push_back(n);
    }
    for (const auto& ref : refs) {
      Location at = column_of(ptr, text, ref.offset);
      std::string written = text.substr(ref.offset, ref.length);
      auto it = resources_.find(ref.resource);
      if (it == resources_.end()) {
        error(at, "reference " + written + ": there is no resource \"" + ref.resource + "\"" +
                      suggestion(ref.resource, names));
        continue;
      }
      const KnownResource& target = it->second;
      if (target.type == nullptr) {
        out.emplace_back(ref, ValueKind::kAny);  // its unknown type was reported already
        continue;
      }
      auto output = target.type->output(ref.output, *target.inputs);
      if (!output) {
        auto outputs = target.type->output_names(*target.inputs);
        std::string hint = suggestion(ref.output, outputs);
        if (outputs.empty()) {
          hint = target.type->declared_outputs ? " (list it in the resource's outputs input)" : "";
        }
        error(at, "reference " + written + ": resource \"" + ref.resource + "\" (" +
                      target.type_name + ") has no output \"" + ref.output + "\"" + hint);
        continue;
      }
      out.emplace_back(ref, output->kind);
    }
    return out;
  }

  void check_ref_value(const std::string& text,
                       const std::vector<std::pair<Reference, ValueKind>>& refs,
                       const InputSchema& s, const std::string& ptr, const std::string& path) {
    if (auto whole = whole_reference(text); whole && refs.size() == 1) {
      ValueKind got = refs[0].second;
      if (!compatible(s.kind, got)) {
        error(column_of(ptr, text, 0), "\"" + path + "\" must be " + kind_name(s.kind) + ", but " +
                                           text + " is " + kind_name(got));
      }
      if (!s.ref_type.empty()) {
        const KnownResource& target = resources_.at(whole->resource);
        if (target.type != nullptr && target.type_name != s.ref_type) {
          error(column_of(ptr, text, 0), "\"" + path + "\" takes an output of a " + s.ref_type +
                                             ", but \"" + whole->resource + "\" is a " +
                                             target.type_name);
        }
      }
      return;
    }
    if (!compatible(s.kind, ValueKind::kString) || s.kind == ValueKind::kMoney ||
        s.kind == ValueKind::kNumber) {
      error(column_of(ptr, text, 0),
            "\"" + path + "\" must be " + kind_name(s.kind) +
                ", but text with references in it is a string (a whole-string reference such as "
                "${resource.output} keeps the output's type)");
    }
  }

  void check_health(const std::string& pointer) {
    auto it = r_.inputs.find("health");
    if (it == r_.inputs.end() || !it->is_object()) {
      return;
    }
    bool http = it->contains("http");
    bool tcp = it->contains("tcp") && (*it)["tcp"] == true;
    if (http == tcp) {
      error(ctx_.value_at(pointer + "/health"),
            "health checks one way: give either http: /path or tcp: true");
    }
  }

  // The position of `text[offset]`, found in the source line where the value starts.
  Location column_of(const std::string& ptr, const std::string& text, size_t offset) {
    std::string needle = text.substr(offset, std::min<size_t>(text.size() - offset, 40));
    return ctx_.find_in_value(ptr, needle);
  }

  ResourceSpec& r_;
  const TypeSchema& type_;
  const std::map<std::string, KnownResource>& resources_;
  ParseContext& ctx_;
  std::string who_;
};

}  // namespace

void validate_inputs(ResourceSpec& resource, const TypeSchema& type, const std::string& pointer,
                     const std::map<std::string, KnownResource>& resources, ParseContext& ctx) {
  Validator(resource, type, resources, ctx).run(pointer);
}

}  // namespace cairn::deploy::spec_internal
