// Secret references: reading env and file secrets, errors that name the reference and never the
// value, and the HMAC digest that is all history may record.
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cairn/deploy/spec.h"

namespace cairn::deploy {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class SpecSecrets : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("cairn-secrets-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& content) {
    std::ofstream(dir_ / name) << content;
    return (dir_ / name).string();
  }
  std::filesystem::path dir_;
};

TEST_F(SpecSecrets, ReferencesParse) {
  EXPECT_EQ(parse_secret_ref("env:OPENAI_API_KEY"),
            (SecretRef{SecretRef::Source::kEnv, "OPENAI_API_KEY"}));
  EXPECT_EQ(parse_secret_ref("file:keys/a.txt"),
            (SecretRef{SecretRef::Source::kFile, "keys/a.txt"}));
  EXPECT_FALSE(parse_secret_ref("env:1BAD").has_value());
  EXPECT_FALSE(parse_secret_ref("env:").has_value());
  EXPECT_FALSE(parse_secret_ref("vault:x").has_value());
  EXPECT_FALSE(parse_secret_ref("sk-live-abc").has_value());
  EXPECT_TRUE(as_secret_ref(nlohmann::json{{"secret", "env:A"}, {"digest", "ab"}}).has_value());
  EXPECT_FALSE(as_secret_ref(nlohmann::json{{"secret", "env:A"}, {"other", 1}}).has_value());
}

TEST_F(SpecSecrets, EnvAndFileValuesAreRead) {
  ASSERT_EQ(setenv("CAIRN_TEST_SECRET_A", "value-a", 1), 0);
  EXPECT_EQ(resolve_secret(*parse_secret_ref("env:CAIRN_TEST_SECRET_A")), "value-a");
  unsetenv("CAIRN_TEST_SECRET_A");
  write("key.txt", "value-b\n");
  EXPECT_EQ(resolve_secret(*parse_secret_ref("file:key.txt"), dir_.string()), "value-b");
  EXPECT_EQ(resolve_secret(*parse_secret_ref("file:" + (dir_ / "key.txt").string())), "value-b");
}

TEST_F(SpecSecrets, ErrorsNameTheReferenceNeverTheValue) {
  unsetenv("CAIRN_TEST_SECRET_UNSET");
  try {
    resolve_secret(*parse_secret_ref("env:CAIRN_TEST_SECRET_UNSET"));
    FAIL() << "no error";
  } catch (const SecretError& e) {
    EXPECT_STREQ(e.what(),
                 "secret env:CAIRN_TEST_SECRET_UNSET: the environment variable "
                 "CAIRN_TEST_SECRET_UNSET is not set (or empty)");
  }
  write("empty.txt", "\n");
  try {
    resolve_secret(*parse_secret_ref("file:empty.txt"), dir_.string());
    FAIL() << "no error";
  } catch (const SecretError& e) {
    EXPECT_THAT(e.what(), HasSubstr("secret file:empty.txt: "));
    EXPECT_THAT(e.what(), HasSubstr("is empty"));
  }
  EXPECT_THROW(resolve_secret(*parse_secret_ref("file:missing.txt"), dir_.string()), SecretError);
}

TEST_F(SpecSecrets, DigestIsHmacSha256Hex) {
  // RFC 4231, test case 2.
  EXPECT_EQ(secret_digest("what do ya want for nothing?", "Jefe"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_NE(secret_digest("v", "key1"), secret_digest("v", "key2"));
  EXPECT_THAT(secret_digest("sk-live-PLANTED", "k"), Not(HasSubstr("PLANTED")));
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace cairn::deploy
