// Payload codecs without a server: zlib and AES-256-GCM round trips, the chain's order, wrong
// keys and tampered ciphertexts, key parsing, the walk over whole messages, and the protobuf
// payload converters.
#include <gmock/gmock.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "cairn/codec.h"
#include "cairn/payload.h"
#include "cairn/v1/command.pb.h"
#include "cairn/v1/history.pb.h"
#include "cairn/activity.h"
#include "cairn/worker.h"

namespace cairn {
// Sent as readable JSON: exercises the compile-time choice of the json/protobuf converter.
template <>
struct use_proto_json<v1::WorkflowType> : std::true_type {};
}  // namespace cairn

namespace cairn::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using google::protobuf::util::MessageDifferencer;

const std::string kKeyHex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const std::string kOtherKeyHex = "ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
constexpr char kDecryptionFailed[] = "payload decryption failed (wrong key or corrupted payload)";

std::shared_ptr<AesGcmCodec> aes(const std::string& hex = kKeyHex, const std::string& id = "k1") {
  return std::make_shared<AesGcmCodec>(AesGcmCodec::parse_key(hex, "test key"), id);
}

std::string big_text() {
  std::string s;
  for (int i = 0; i < 200; ++i) {
    s += "the quick brown fox jumps over the lazy dog " + std::to_string(i % 7) + "; ";
  }
  return s;
}

std::string encoding(const v1::Payload& p) { return detail::encoding_of(p); }

// The message of what `fn` throws as PayloadError; fails the test when it throws nothing.
template <class Fn>
std::string payload_error(Fn fn) {
  try {
    fn();
  } catch (const PayloadError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no PayloadError thrown";
  return "";
}

TEST(ZlibCodecTest, CompressesLargePayloadsAndRoundTrips) {
  ZlibCodec zlib(/*threshold_bytes=*/64);
  v1::Payloads in = to_payloads(big_text(), std::string("tiny"));
  v1::Payloads enc = zlib.encode(in);
  ASSERT_EQ(enc.payloads_size(), 2);
  EXPECT_EQ(encoding(enc.payloads(0)), kEncodingZlib);
  EXPECT_LT(enc.payloads(0).data().size(), in.payloads(0).data().size() / 4);
  EXPECT_EQ(encoding(enc.payloads(1)), kEncodingJson);  // under the threshold: as it was
  v1::Payloads dec = zlib.decode(enc);
  EXPECT_TRUE(MessageDifferencer::Equals(dec, in));
  EXPECT_EQ(from_payloads<std::string>(dec, 0), big_text());
}

TEST(ZlibCodecTest, CorruptedDataIsRejected) {
  ZlibCodec zlib(0);
  v1::Payloads enc = zlib.encode(to_payloads(big_text()));
  ASSERT_EQ(encoding(enc.payloads(0)), kEncodingZlib);
  enc.mutable_payloads(0)->mutable_data()->resize(enc.payloads(0).data().size() / 2);
  EXPECT_THAT(payload_error([&] { zlib.decode(enc); }), HasSubstr("zlib payload is corrupted"));
}

TEST(AesGcmCodecTest, RoundTripsAndHidesThePlaintext) {
  auto codec = aes();
  const std::string secret = "attack at dawn: the launch code is 0000";
  v1::Payloads in = to_payloads(secret, 42);
  v1::Payloads enc = codec->encode(in);
  ASSERT_EQ(enc.payloads_size(), 2);
  for (const auto& p : enc.payloads()) {
    EXPECT_EQ(encoding(p), kEncodingEncrypted);
    EXPECT_EQ(p.metadata().at(kEncryptionKeyIdKey), "k1");
    EXPECT_EQ(p.data().find("attack at dawn"), std::string::npos);
  }
  // A fresh nonce per payload: the same value never encrypts to the same bytes.
  EXPECT_NE(codec->encode(in).payloads(0).data(), enc.payloads(0).data());
  v1::Payloads dec = codec->decode(enc);
  EXPECT_TRUE(MessageDifferencer::Equals(dec, in));
  EXPECT_EQ(from_payloads<std::string>(dec, 0), secret);
  EXPECT_EQ(from_payloads<int>(dec, 1), 42);
}

TEST(AesGcmCodecTest, PassesThroughPayloadsItDidNotEncrypt) {
  v1::Payloads plain = to_payloads(std::string("not encrypted"));
  EXPECT_TRUE(MessageDifferencer::Equals(aes()->decode(plain), plain));
}

TEST(AesGcmCodecTest, WrongKeyFailsWithTheClearErrorAndNoKeyMaterial) {
  v1::Payloads enc = aes(kKeyHex, "k1")->encode(to_payloads(std::string("secret")));
  std::string message = payload_error([&] { aes(kOtherKeyHex, "k1")->decode(enc); });
  EXPECT_EQ(message, kDecryptionFailed);
  EXPECT_THAT(message, Not(HasSubstr("0102030405")));
}

TEST(AesGcmCodecTest, AnotherKeyIdIsNamedInTheError) {
  v1::Payloads enc = aes(kKeyHex, "k1")->encode(to_payloads(std::string("secret")));
  std::string message = payload_error([&] { aes(kKeyHex, "k2")->decode(enc); });
  EXPECT_THAT(message, HasSubstr("payload decryption failed"));
  EXPECT_THAT(message, HasSubstr("'k1'"));
  EXPECT_THAT(message, HasSubstr("'k2'"));
}

TEST(AesGcmCodecTest, TamperedPayloadsAreRejected) {
  auto codec = aes();
  v1::Payloads enc = codec->encode(to_payloads(std::string("pay alice 10 coins")));
  const std::string& data = enc.payloads(0).data();
  // A flipped bit in the nonce, the ciphertext and the tag; a truncation; a moved key id.
  for (size_t pos : {size_t{0}, AesGcmCodec::kNonceBytes + 3, data.size() - 1}) {
    v1::Payloads bad = enc;
    (*bad.mutable_payloads(0)->mutable_data())[pos] ^= 0x01;
    EXPECT_EQ(payload_error([&] { codec->decode(bad); }), kDecryptionFailed) << "byte " << pos;
  }
  v1::Payloads cut = enc;
  cut.mutable_payloads(0)->set_data(data.substr(0, 20));
  EXPECT_EQ(payload_error([&] { codec->decode(cut); }), kDecryptionFailed);
  // The key id is bound to the ciphertext: relabelling it (with the same key) fails too.
  v1::Payloads relabelled = aes(kKeyHex, "k2")->encode(to_payloads(std::string("x")));
  (*relabelled.mutable_payloads(0)->mutable_metadata())[kEncryptionKeyIdKey] = "k1";
  EXPECT_EQ(payload_error([&] { codec->decode(relabelled); }), kDecryptionFailed);
}

TEST(AesGcmCodecTest, KeysParseFromHexRawBytesFilesAndEnvironment) {
  std::string raw = AesGcmCodec::parse_key("  " + kKeyHex + "\n", "k");
  ASSERT_EQ(raw.size(), 32u);
  EXPECT_EQ(raw[1], '\x01');
  EXPECT_EQ(AesGcmCodec::parse_key(raw, "k"), raw);  // 32 raw bytes as they are
  for (const std::string& bad : {std::string("short"), kKeyHex.substr(1) + "g",
                                 std::string(33, 'a')}) {
    try {
      AesGcmCodec::parse_key(bad, "key file /x");
      ADD_FAILURE() << "accepted a bad key";
    } catch (const std::invalid_argument& e) {
      EXPECT_THAT(e.what(), HasSubstr("key file /x: expected 32 raw bytes or 64 hex"));
      EXPECT_THAT(e.what(), Not(HasSubstr(bad)));
    }
  }
  std::string path = ::testing::TempDir() + "/cairn-codec-test.key";
  std::ofstream(path) << kKeyHex << "\n";
  auto from_file = AesGcmCodec::from_file(path, "k1");
  ::setenv("CAIRN_CODEC_TEST_KEY", kKeyHex.c_str(), 1);
  auto from_env = AesGcmCodec::from_env("CAIRN_CODEC_TEST_KEY", "k1");
  v1::Payloads enc = from_file->encode(to_payloads(std::string("v")));
  EXPECT_EQ(from_payloads<std::string>(from_env->decode(enc)), "v");
  EXPECT_THROW(AesGcmCodec::from_env("CAIRN_CODEC_TEST_UNSET_KEY", "k1"), std::invalid_argument);
  EXPECT_THROW(AesGcmCodec::from_file(path + ".missing", "k1"), std::invalid_argument);
}

TEST(CodecChainTest, EncodesFirstToLastAndDecodesInReverse) {
  auto zlib = std::make_shared<ZlibCodec>(0);
  auto key = aes();
  CodecChain chain{zlib, key};
  v1::Payloads in = to_payloads(big_text());
  v1::Payloads enc = encode_payloads(chain, in);
  // Compressed first, then encrypted: the outer layer is the encryption, and it is small.
  ASSERT_EQ(encoding(enc.payloads(0)), kEncodingEncrypted);
  EXPECT_LT(enc.payloads(0).data().size(), in.payloads(0).data().size() / 4);
  v1::Payloads peeled = key->decode(enc);
  EXPECT_EQ(encoding(peeled.payloads(0)), kEncodingZlib);
  EXPECT_TRUE(MessageDifferencer::Equals(decode_payloads(chain, enc), in));
  // The other order cannot compress ciphertext: zlib leaves it alone.
  v1::Payloads reversed = encode_payloads(CodecChain{key, zlib}, in);
  EXPECT_EQ(encoding(reversed.payloads(0)), kEncodingEncrypted);
  EXPECT_GT(reversed.payloads(0).data().size(), in.payloads(0).data().size());
  EXPECT_TRUE(MessageDifferencer::Equals(decode_payloads(CodecChain{key, zlib}, reversed), in));
  EXPECT_TRUE(MessageDifferencer::Equals(encode_payloads({}, in), in));
}

TEST(CodecChainTest, EveryPayloadInsideAMessageIsTransformed) {
  v1::HistoryEvent e;
  e.set_event_id(7);
  auto* started = e.mutable_workflow_execution_started_event_attributes();
  started->mutable_workflow_type()->set_name("wf");
  *started->mutable_input() = to_payloads(std::string("secret-input"));
  (*started->mutable_memo())["note"] = to_payload(std::string("secret-memo"));
  v1::Command c;
  auto* marker = c.mutable_record_marker_command_attributes();
  (*marker->mutable_details())["data"] = to_payloads(std::string("secret-marker"));
  auto* failure = c.mutable_fail_workflow_execution_command_attributes()->mutable_failure();
  *failure->mutable_application_failure_info()->mutable_details() =
      to_payloads(std::string("secret-detail"));

  CodecChain chain{aes()};
  for (google::protobuf::Message* m : std::initializer_list<google::protobuf::Message*>{&e, &c}) {
    std::unique_ptr<google::protobuf::Message> original(m->New());
    original->CopyFrom(*m);
    encode_payloads_in(chain, m);
    EXPECT_EQ(m->SerializeAsString().find("secret-"), std::string::npos) << m->DebugString();
    decode_payloads_in(chain, m);
    EXPECT_TRUE(MessageDifferencer::Equals(*m, *original));
  }
  EXPECT_EQ(e.workflow_execution_started_event_attributes().workflow_type().name(), "wf");
}

TEST(ProtoConverterTest, MessagesRoundTripAsBinaryProtobuf) {
  v1::RetryPolicy policy;
  policy.set_maximum_attempts(7);
  policy.add_non_retryable_error_types("Fatal");
  v1::Payload p = to_payload(policy);
  EXPECT_EQ(encoding(p), kEncodingProtobuf);
  EXPECT_EQ(p.metadata().at(kMessageTypeKey), "cairn.v1.RetryPolicy");
  EXPECT_TRUE(MessageDifferencer::Equals(from_payload<v1::RetryPolicy>(p), policy));
  // Another message type is refused by name.
  EXPECT_THAT(payload_error([&] { from_payload<v1::WorkflowType>(p); }),
              HasSubstr("the payload holds a cairn.v1.RetryPolicy"));
}

TEST(ProtoConverterTest, TypesMarkedForJsonTravelAsProtobufJson) {
  v1::WorkflowType t;
  t.set_name("orders");
  v1::Payload p = to_payload(t);
  EXPECT_EQ(encoding(p), kEncodingProtobufJson);
  EXPECT_THAT(p.data(), HasSubstr("\"orders\""));
  EXPECT_EQ(from_payload<v1::WorkflowType>(p).name(), "orders");
}

TEST(ProtoConverterTest, RegisteredFunctionsTakeAndReturnMessages) {
  auto fn = detail::adapt<ActivityContext>([](v1::RetryPolicy in) {
    in.set_maximum_attempts(in.maximum_attempts() + 1);
    return in;
  });
  v1::RetryPolicy in;
  in.set_maximum_attempts(1);
  ActivityContext ctx(ActivityInfo{}, {}, nullptr);
  v1::Payloads out = fn(ctx, to_payloads(in));
  EXPECT_EQ(from_payloads<v1::RetryPolicy>(out).maximum_attempts(), 2);
}

}  // namespace
}  // namespace cairn::testing
