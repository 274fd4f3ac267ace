#include "jostle/status.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace jostle {
namespace {

TEST(StatusTest, ErrnoMapsToNamedCodes) {
  EXPECT_TRUE(Status::FromErrno(ENOENT, "/proc/1/stat").IsNotFound());
  EXPECT_TRUE(Status::FromErrno(ESRCH, "kill").IsNotFound());
  EXPECT_EQ(Status::FromErrno(EACCES, "x").code(), Status::Code::kPermissionDenied);
  EXPECT_EQ(Status::FromErrno(EIO, "x").code(), Status::Code::kIOError);
  EXPECT_EQ(Status::FromErrno(ENOENT, "/proc/1/stat").ToString(),
            "NotFound: /proc/1/stat: No such file or directory");
}

TEST(StatusTest, ResultCarriesValueOrStatus) {
  Result<int> good = 7;
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 7);
  Result<int> bad = Status::InvalidArgument("junit.xml:812: <testcase> has no name");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "junit.xml:812: <testcase> has no name");
  EXPECT_EQ(bad.value_or(3), 3);
}

TEST(StatusTest, WithContextPrefixesMessage) {
  Status s = Status::NotFound("memory.stat").WithContext("pod abc");
  EXPECT_EQ(s.message(), "pod abc: memory.stat");
  EXPECT_TRUE(Status::Ok().WithContext("x").ok());
}

}  // namespace
}  // namespace jostle
