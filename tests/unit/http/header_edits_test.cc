#include "lb/http/header_edits.h"

#include <gtest/gtest.h>

namespace lb::http {
namespace {

TEST(HeaderEdits, DropsSetAndRemovedNamesInAnyCase) {
  HeaderEdits e;
  e.set = {{"X-Tenant", "acme"}};
  e.add = {{"X-Extra", "1"}};
  e.remove = {"Server"};
  EXPECT_TRUE(e.drops("x-tenant"));
  EXPECT_TRUE(e.drops("SERVER"));
  EXPECT_FALSE(e.drops("X-Extra"));  // add keeps the message's own fields
  std::string out;
  e.append_fields(out);
  EXPECT_EQ(out, "X-Tenant: acme\r\nX-Extra: 1\r\n");
  EXPECT_FALSE(e.empty());
  EXPECT_TRUE(HeaderEdits{}.empty());
}

TEST(HeaderEdits, ReservedFields) {
  for (const char* hop : {"Connection", "keep-alive", "TE", "Trailer", "Transfer-Encoding", "Upgrade",
                          "Proxy-Connection", "Content-Length"}) {
    EXPECT_NE(reserved_field(hop, EditedMessage::request), nullptr) << hop;
    EXPECT_NE(reserved_field(hop, EditedMessage::response), nullptr) << hop;
  }
  EXPECT_NE(reserved_field("X-Forwarded-For", EditedMessage::request), nullptr);
  EXPECT_EQ(reserved_field("X-Forwarded-For", EditedMessage::response), nullptr);
  EXPECT_EQ(reserved_field("Server", EditedMessage::response), nullptr);
  EXPECT_EQ(reserved_field("Host", EditedMessage::request), nullptr);
}

TEST(HeaderEdits, FieldValues) {
  EXPECT_TRUE(is_valid_field_value("max-age=63072000; includeSubDomains"));
  EXPECT_TRUE(is_valid_field_value(""));
  EXPECT_TRUE(is_valid_field_value("a\tb"));
  EXPECT_FALSE(is_valid_field_value("a\r\nX-Injected: 1"));
  EXPECT_FALSE(is_valid_field_value(std::string("a\0b", 3)));
  EXPECT_FALSE(is_valid_field_value(" a"));
  EXPECT_FALSE(is_valid_field_value("a "));
}

}  // namespace
}  // namespace lb::http
