// The pieces that put a recording between a command and what it reads: a
// lister and cgroup names that record what they answer (live, -w), and a
// lister that answers from the recording (-r).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "core/cgroup_name.h"
#include "core/reconciler.h"
#include "record/recorder.h"
#include "record/replay.h"
#include "views/netstat_format.h"

namespace tcpscope {

// recorder() may be null (nothing recorded): a command opens its listing
// before it knows what its recording's header says.
class RecordingLister : public SocketLister {
  public:
    RecordingLister(std::unique_ptr<SocketLister> inner, std::function<Recorder*()> recorder)
        : inner_(std::move(inner)), recorder_(std::move(recorder)) {}
    void list_into(std::vector<ListedSocket>& out, int family) override;

  private:
    std::unique_ptr<SocketLister> inner_;
    std::function<Recorder*()> recorder_;
};

class ReplayLister : public SocketLister {
  public:
    explicit ReplayLister(Replay& replay) : replay_(replay) {}
    // Throws RecordingError when the recording holds no listing of family
    // here, std::runtime_error where the recorded listing failed.
    void list_into(std::vector<ListedSocket>& out, int family) override;

  private:
    Replay& replay_;
};

// Records each id's answer the first time it is asked and whenever it
// changes (an id unknown at first may be found after a rescan). A name once
// known is kept (a replay cannot tell a removed cgroup from a rescan).
class RecordingCgroups : public CgroupNames {
  public:
    RecordingCgroups(CgroupNames& inner, Recorder& recorder) : inner_(inner), recorder_(recorder) {}
    const CgroupName* find(std::uint64_t id) override;

  private:
    CgroupNames& inner_;
    Recorder& recorder_;
    std::unordered_map<std::uint64_t, std::optional<CgroupName>> answered_;
};

// Owner names from /proc (listen's listeners from before the run): each
// inode's answer recorded the first time it is asked.
class RecordingPrograms : public ProgramLookup {
  public:
    RecordingPrograms(ProgramLookup& inner, Recorder& recorder)
        : inner_(inner), recorder_(recorder) {}
    std::optional<std::string> program(std::uint64_t inode) override;

  private:
    ProgramLookup& inner_;
    Recorder& recorder_;
    std::unordered_map<std::uint64_t, std::optional<std::string>> answered_;
};

class ReplayPrograms : public ProgramLookup {
  public:
    explicit ReplayPrograms(const Replay& replay) : replay_(replay) {}
    std::optional<std::string> program(std::uint64_t inode) override {
        return replay_.program(inode);
    }

  private:
    const Replay& replay_;
};

}  // namespace tcpscope
