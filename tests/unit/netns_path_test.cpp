#include <gtest/gtest.h>
#include <sys/stat.h>

#include <stdexcept>

#include "cli/netns_path.h"

namespace tcpscope {
namespace {

TEST(NetnsPath, DigitsAreAnInode) {
    EXPECT_EQ(resolve_netns("4026531840"), 4026531840u);
}

TEST(NetnsPath, RejectsOutOfRangeInodes) {
    EXPECT_THROW(resolve_netns("0"), std::invalid_argument);
    EXPECT_THROW(resolve_netns("99999999999"), std::invalid_argument);
}

TEST(NetnsPath, OwnNamespaceResolvesToItsInode) {
    struct stat st {};
    ASSERT_EQ(stat("/proc/self/ns/net", &st), 0);
    EXPECT_EQ(resolve_netns("/proc/self/ns/net"), st.st_ino);
    EXPECT_EQ(current_netns_inode(), st.st_ino);
}

TEST(NetnsPath, MissingPathIsAnError) {
    EXPECT_THROW(resolve_netns("/run/netns/does-not-exist-tcpscope"), std::invalid_argument);
}

TEST(NetnsPath, AnotherKindOfFileIsNotANetns) {
    EXPECT_THROW(resolve_netns("/etc/hostname"), std::invalid_argument);
    EXPECT_THROW(resolve_netns("/proc/self/ns/uts"), std::invalid_argument);
}

}  // namespace
}  // namespace tcpscope
