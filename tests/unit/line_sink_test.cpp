#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <stdexcept>
#include <string>

#include "views/line_sink.h"

namespace tcpscope {
namespace {

// A full disk, as /dev/full behaves: every write fails with ENOSPC. The file
// sink must say so, naming the file and the error, at the write or flush
// that failed: never a silent loss.
TEST(FileSink, AFullDeviceThrowsNamingTheFileAndTheError) {
    std::unique_ptr<LineSink> sink = make_file_sink({"/dev/full", 0, 3, std::nullopt});
    try {
        sink->write_line("one line");
        sink->flush();
        FAIL() << "writing to /dev/full did not fail";
    } catch (const std::runtime_error& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("/dev/full"), std::string::npos) << what;
        EXPECT_NE(what.find("No space left on device"), std::string::npos) << what;
    }
}

TEST(FileSink, RotatingSinkOnAFullDeviceThrowsToo) {
    std::unique_ptr<LineSink> sink = make_file_sink({"/dev/full", 1 << 20, 2, std::nullopt});
    EXPECT_THROW(
        {
            sink->write_line("one line");
            sink->flush();
        },
        std::runtime_error);
}

// A directory of the test's own, removed at the end.
struct ScratchDir {
    std::filesystem::path path;
    ScratchDir() {
        char name[] = "/tmp/tcpscope-sink-XXXXXX";
        path = mkdtemp(name);
    }
    ~ScratchDir() { std::filesystem::remove_all(path); }
};

TEST(FileSink, ASymbolicLinkAtThePathIsRefused) {
    ScratchDir dir;
    const auto target = dir.path / "target";
    const auto link = dir.path / "out.json";
    std::filesystem::create_symlink(target, link);
    try {
        make_file_sink({link.string(), 0, 3, std::nullopt});
        FAIL() << "opened through a symbolic link";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("symbolic link"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(std::filesystem::exists(target)) << "nothing created through the link";
}

TEST(FileSink, ANewFileIsPrivateAndGivenToTheOwner) {
    ScratchDir dir;
    const auto path = dir.path / "out.json";
    const FileOwner me{getuid(), getgid(), "me"};
    make_file_sink({path.string(), 0, 3, me})->write_line("x");
    struct stat st {};
    ASSERT_EQ(stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_EQ(st.st_uid, me.uid);
}

TEST(FileSink, RotationInADirectoryTheOwnerCannotWriteIsRefused) {
    ScratchDir dir;  // 0700, ours
    const FileOwner other{getuid() + 4242, getgid() + 4242, "someone"};
    try {
        make_file_sink({(dir.path / "out.json").string(), 1 << 20, 2, other});
        FAIL() << "rotation would fail once running as the other user";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("writable by user someone"), std::string::npos)
            << e.what();
    }
    EXPECT_NO_THROW(make_file_sink({(dir.path / "ok.json").string(), 0, 3, other}))
        << "without rotation the open file is enough";
}

}  // namespace
}  // namespace tcpscope
