#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "views/line_sink.h"

namespace tcpscope {
namespace {

// A full disk, as /dev/full behaves: every write fails with ENOSPC. The file
// sink must say so, naming the file and the error, at the write or flush
// that failed: never a silent loss.
TEST(FileSink, AFullDeviceThrowsNamingTheFileAndTheError) {
    std::unique_ptr<LineSink> sink = make_file_sink({"/dev/full"});
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
    std::unique_ptr<LineSink> sink = make_file_sink({"/dev/full", 1 << 20, 2});
    EXPECT_THROW(
        {
            sink->write_line("one line");
            sink->flush();
        },
        std::runtime_error);
}

}  // namespace
}  // namespace tcpscope
