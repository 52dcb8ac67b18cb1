#include "record/record_codec.h"

#include <sys/socket.h>

#include <cstring>

namespace tcpscope {
namespace {

class ByteWriter {
  public:
    explicit ByteWriter(std::string& out) : out_(out) {}
    template <typename T>
    void put(T value) {  // little-endian, as every host tcpscope builds for
        char bytes[sizeof(T)];
        std::memcpy(bytes, &value, sizeof(T));
        out_.append(bytes, sizeof(T));
    }
    void raw(const void* data, std::size_t size) {
        out_.append(static_cast<const char*>(data), size);
    }
    void str(std::string_view s) {
        put<std::uint32_t>(static_cast<std::uint32_t>(s.size()));
        out_.append(s);
    }

  private:
    std::string& out_;
};

class ByteReader {
  public:
    explicit ByteReader(std::string_view data) : data_(data) {}
    template <typename T>
    T get() {
        need(sizeof(T));
        T value;
        std::memcpy(&value, data_.data() + at_, sizeof(T));
        at_ += sizeof(T);
        return value;
    }
    void raw(void* out, std::size_t size) {
        need(size);
        std::memcpy(out, data_.data() + at_, size);
        at_ += size;
    }
    std::string str() {
        auto size = get<std::uint32_t>();
        need(size);
        std::string s(data_.substr(at_, size));
        at_ += size;
        return s;
    }
    bool done() const { return at_ == data_.size(); }
    std::size_t left() const { return data_.size() - at_; }
    void expect_done(const char* what) const {
        if (!done()) {
            throw MalformedPayload(std::string(what) + " record longer than its layout");
        }
    }

  private:
    void need(std::size_t size) const {
        if (data_.size() - at_ < size) {
            throw MalformedPayload("record shorter than its layout");
        }
    }
    std::string_view data_;
    std::size_t at_ = 0;
};

void put_address(ByteWriter& w, const IpAddress& a) {
    w.put<std::uint8_t>(static_cast<std::uint8_t>(a.family == AF_INET6  ? 6
                                                  : a.family == AF_INET ? 4
                                                                        : 0));
    w.raw(a.bytes.data(), a.bytes.size());
}

IpAddress get_address(ByteReader& r) {
    IpAddress a;
    auto family = r.get<std::uint8_t>();
    if (family != 4 && family != 6 && family != 0) {
        throw MalformedPayload("listing record with an unknown address family");
    }
    a.family = family == 6 ? AF_INET6 : family == 4 ? AF_INET : 0;
    r.raw(a.bytes.data(), a.bytes.size());
    return a;
}

// Which optional fields of a listed socket are present, and its two kinds.
enum ListedFlags : std::uint8_t {
    kIsTimewait = 1 << 0,
    kIsRequest = 1 << 1,
    kHasRetransmits = 1 << 2,
    kHasProbes = 1 << 3,
    kHasDrops = 1 << 4,
};

}  // namespace

std::string encode_header(const RecordingHeader& h) {
    std::string fields;
    ByteWriter w(fields);
    w.str(h.tcpscope_version);
    w.str(h.kernel_release);
    w.str(h.boot_id);
    w.str(h.host_name);
    w.str(h.command);
    w.put<std::uint32_t>(h.netns);
    w.put<std::int64_t>(h.realtime_minus_monotonic_ns);
    w.put<std::uint64_t>(h.recording_id);
    w.put<std::uint32_t>(h.part);
    w.put<std::uint32_t>(h.event_size);
    w.put<std::uint32_t>(static_cast<std::uint32_t>(h.settings.size()));
    for (const auto& [key, value] : h.settings) {
        w.str(key);
        w.str(value);
    }
    std::string out(kRecordingMagic, sizeof(kRecordingMagic));
    ByteWriter head(out);
    head.put<std::uint16_t>(kRecordingFormatVersion);
    head.put<std::uint32_t>(static_cast<std::uint32_t>(fields.size()));
    out += fields;
    return out;
}

RecordingHeader decode_header_fields(std::string_view fields, std::uint16_t version) {
    ByteReader r(fields);
    RecordingHeader h;
    h.format_version = version;
    h.tcpscope_version = r.str();
    h.kernel_release = r.str();
    h.boot_id = r.str();
    h.host_name = r.str();
    h.command = r.str();
    h.netns = r.get<std::uint32_t>();
    h.realtime_minus_monotonic_ns = r.get<std::int64_t>();
    h.recording_id = r.get<std::uint64_t>();
    h.part = r.get<std::uint32_t>();
    h.event_size = r.get<std::uint32_t>();
    auto count = r.get<std::uint32_t>();
    if (count > r.left() / 8) {  // each setting is at least two lengths
        throw MalformedPayload("header with more settings than bytes");
    }
    for (std::uint32_t i = 0; i < count; ++i) {
        std::string key = r.str();
        h.settings.emplace_back(std::move(key), r.str());
    }
    // Fields a later recorder of the same version appends are skipped.
    return h;
}

void append_record(std::string& out, RecordType type, std::string_view payload) {
    ByteWriter w(out);
    w.put<std::uint8_t>(static_cast<std::uint8_t>(type));
    w.put<std::uint32_t>(static_cast<std::uint32_t>(payload.size()));
    out.append(payload);
}

std::string encode_listing(int family, bool ok, const ListedSocket* sockets, std::size_t count) {
    std::string out;
    out.reserve(16 + count * 96);
    ByteWriter w(out);
    w.put<std::uint8_t>(static_cast<std::uint8_t>(family == AF_INET6  ? 6
                                                  : family == AF_INET ? 4
                                                                      : 0));
    w.put<std::uint8_t>(ok ? 1 : 0);
    w.put<std::uint32_t>(static_cast<std::uint32_t>(count));
    for (std::size_t i = 0; i < count; ++i) {
        const ListedSocket& s = sockets[i];
        std::uint8_t flags = (s.is_timewait ? kIsTimewait : 0) | (s.is_request ? kIsRequest : 0) |
                             (s.retransmits ? kHasRetransmits : 0) | (s.probes ? kHasProbes : 0) |
                             (s.drops ? kHasDrops : 0);
        w.put<std::uint64_t>(s.cookie);
        put_address(w, s.saddr);
        put_address(w, s.daddr);
        w.put<std::uint16_t>(s.sport);
        w.put<std::uint16_t>(s.dport);
        w.put<std::uint8_t>(static_cast<std::uint8_t>(s.state));
        w.put<std::uint8_t>(flags);
        w.put<std::uint32_t>(s.rqueue);
        w.put<std::uint32_t>(s.wqueue);
        w.put<std::uint32_t>(s.uid);
        w.put<std::uint64_t>(s.inode);
        w.put<std::uint8_t>(s.timer);
        w.put<std::uint8_t>(s.retrans);
        w.put<std::uint32_t>(s.expires_ms);
        w.put<std::uint64_t>(s.cgroup_id);
        w.put<std::uint8_t>(s.retransmits.value_or(0));
        w.put<std::uint8_t>(s.probes.value_or(0));
        w.put<std::uint32_t>(s.drops.value_or(0));
    }
    return out;
}

ListingRecord decode_listing(std::string_view payload) {
    ByteReader r(payload);
    ListingRecord out;
    auto family = r.get<std::uint8_t>();
    if (family != 0 && family != 4 && family != 6) {
        throw MalformedPayload("listing record with an unknown family");
    }
    out.family = family == 6 ? AF_INET6 : family == 4 ? AF_INET : 0;
    out.ok = r.get<std::uint8_t>() != 0;
    auto count = r.get<std::uint32_t>();
    constexpr std::size_t kMinEntry = 8 + 17 + 17 + 4 + 2 + 12 + 8 + 6 + 8 + 6;
    if (count > r.left() / kMinEntry) {
        throw MalformedPayload("listing record with more sockets than bytes");
    }
    out.sockets.reserve(count);
    for (std::uint32_t i = 0; i < count; ++i) {
        ListedSocket s;
        s.cookie = r.get<std::uint64_t>();
        s.saddr = get_address(r);
        s.daddr = get_address(r);
        s.sport = r.get<std::uint16_t>();
        s.dport = r.get<std::uint16_t>();
        auto state = r.get<std::uint8_t>();
        if (!is_known_state(state)) {
            throw MalformedPayload("listing record with an unknown TCP state");
        }
        s.state = static_cast<TcpState>(state);
        auto flags = r.get<std::uint8_t>();
        s.is_timewait = (flags & kIsTimewait) != 0;
        s.is_request = (flags & kIsRequest) != 0;
        s.rqueue = r.get<std::uint32_t>();
        s.wqueue = r.get<std::uint32_t>();
        s.uid = r.get<std::uint32_t>();
        s.inode = r.get<std::uint64_t>();
        s.timer = r.get<std::uint8_t>();
        s.retrans = r.get<std::uint8_t>();
        s.expires_ms = r.get<std::uint32_t>();
        s.cgroup_id = r.get<std::uint64_t>();
        auto retransmits = r.get<std::uint8_t>();
        auto probes = r.get<std::uint8_t>();
        auto drops = r.get<std::uint32_t>();
        if (flags & kHasRetransmits) {
            s.retransmits = retransmits;
        }
        if (flags & kHasProbes) {
            s.probes = probes;
        }
        if (flags & kHasDrops) {
            s.drops = drops;
        }
        out.sockets.push_back(s);
    }
    r.expect_done("listing");
    return out;
}

std::string encode_clock(ClockKind kind, std::uint64_t ns) {
    std::string out;
    ByteWriter w(out);
    w.put<std::uint8_t>(static_cast<std::uint8_t>(kind));
    w.put<std::uint64_t>(ns);
    return out;
}

std::pair<ClockKind, std::uint64_t> decode_clock(std::string_view payload) {
    ByteReader r(payload);
    auto kind = r.get<std::uint8_t>();
    if (kind > static_cast<std::uint8_t>(ClockKind::ThreadCpu)) {
        throw MalformedPayload("clock record of an unknown clock");
    }
    auto ns = r.get<std::uint64_t>();
    r.expect_done("clock");
    return {static_cast<ClockKind>(kind), ns};
}

std::string encode_losses(const KernelLosses& l) {
    std::string out;
    ByteWriter w(out);
    w.put<std::uint64_t>(l.ringbuf_full);
    w.put<std::uint64_t>(l.recursion_misses);
    w.put<std::uint64_t>(l.recovered);
    w.put<std::uint64_t>(l.other_misses);
    return out;
}

KernelLosses decode_losses(std::string_view payload) {
    ByteReader r(payload);
    KernelLosses l;
    l.ringbuf_full = r.get<std::uint64_t>();
    l.recursion_misses = r.get<std::uint64_t>();
    l.recovered = r.get<std::uint64_t>();
    l.other_misses = r.get<std::uint64_t>();
    r.expect_done("losses");
    return l;
}

std::string encode_cgroup_name(std::uint64_t id, const std::string* path) {
    std::string out;
    ByteWriter w(out);
    w.put<std::uint64_t>(id);
    w.put<std::uint8_t>(path != nullptr ? 1 : 0);
    w.str(path != nullptr ? *path : std::string_view());
    return out;
}

std::pair<std::uint64_t, std::optional<std::string>> decode_cgroup_name(std::string_view payload) {
    ByteReader r(payload);
    auto id = r.get<std::uint64_t>();
    bool known = r.get<std::uint8_t>() != 0;
    std::string path = r.str();
    r.expect_done("cgroup name");
    return {id, known ? std::optional<std::string>(std::move(path)) : std::nullopt};
}

std::string encode_limits(const TimewaitLimits& limits) {
    std::string out;
    ByteWriter w(out);
    w.put<std::uint8_t>((limits.max_buckets ? 1 : 0) | (limits.port_range ? 2 : 0));
    w.put<std::uint64_t>(limits.max_buckets.value_or(0));
    w.put<std::uint16_t>(limits.port_range ? limits.port_range->first : 0);
    w.put<std::uint16_t>(limits.port_range ? limits.port_range->second : 0);
    return out;
}

TimewaitLimits decode_limits(std::string_view payload) {
    ByteReader r(payload);
    auto known = r.get<std::uint8_t>();
    auto buckets = r.get<std::uint64_t>();
    auto low = r.get<std::uint16_t>();
    auto high = r.get<std::uint16_t>();
    r.expect_done("limits");
    TimewaitLimits limits;
    if (known & 1) {
        limits.max_buckets = buckets;
    }
    if (known & 2) {
        limits.port_range = std::make_pair(low, high);
    }
    return limits;
}

std::string encode_listen_counts(const ListenCountsRecord& counts) {
    std::string out;
    ByteWriter w(out);
    w.put<std::uint32_t>(static_cast<std::uint32_t>(counts.listeners.size()));
    for (const ListenerCounts& c : counts.listeners) {
        w.put<std::uint64_t>(c.cookie);
        w.put<std::uint32_t>(c.netns);
        w.put<std::uint64_t>(c.synack_retrans);
        w.put<std::uint64_t>(c.accepted);
        w.put<std::uint64_t>(c.waited);
        w.put<std::uint64_t>(c.wait_ns_total);
        for (std::uint64_t slot : c.wait_slots) {
            w.put<std::uint64_t>(slot);
        }
        w.put<std::uint32_t>(c.queue_peak);
    }
    w.put<std::uint32_t>(static_cast<std::uint32_t>(counts.syn_drops.size()));
    for (const SynDropCount& d : counts.syn_drops) {
        w.put<std::uint32_t>(d.netns);
        put_address(w, d.daddr);
        w.put<std::uint16_t>(d.dport);
        w.str(d.reason);
        w.put<std::uint64_t>(d.count);
    }
    return out;
}

ListenCountsRecord decode_listen_counts(std::string_view payload) {
    ByteReader r(payload);
    ListenCountsRecord out;
    auto listeners = r.get<std::uint32_t>();
    constexpr std::size_t kListenerBytes = 8 + 4 + 8 * 4 + 8 * kWaitSlots + 4;
    if (listeners > r.left() / kListenerBytes) {
        throw MalformedPayload("listen counts record with more listeners than bytes");
    }
    for (std::uint32_t i = 0; i < listeners; ++i) {
        ListenerCounts c;
        c.cookie = r.get<std::uint64_t>();
        c.netns = r.get<std::uint32_t>();
        c.synack_retrans = r.get<std::uint64_t>();
        c.accepted = r.get<std::uint64_t>();
        c.waited = r.get<std::uint64_t>();
        c.wait_ns_total = r.get<std::uint64_t>();
        for (std::uint64_t& slot : c.wait_slots) {
            slot = r.get<std::uint64_t>();
        }
        c.queue_peak = r.get<std::uint32_t>();
        out.listeners.push_back(c);
    }
    auto drops = r.get<std::uint32_t>();
    if (drops > r.left() / (4 + 17 + 2 + 4 + 8)) {
        throw MalformedPayload("listen counts record with more drops than bytes");
    }
    for (std::uint32_t i = 0; i < drops; ++i) {
        SynDropCount d;
        d.netns = r.get<std::uint32_t>();
        d.daddr = get_address(r);
        d.dport = r.get<std::uint16_t>();
        d.reason = r.str();
        d.count = r.get<std::uint64_t>();
        out.syn_drops.push_back(std::move(d));
    }
    r.expect_done("listen counts");
    return out;
}

std::string encode_net_counters(const ProcNetCounters& counters) {
    std::string out;
    ByteWriter w(out);
    w.put<std::uint32_t>(static_cast<std::uint32_t>(counters.size()));
    for (const auto& [name, value] : counters) {
        w.str(name);
        w.put<std::uint64_t>(value);
    }
    return out;
}

ProcNetCounters decode_net_counters(std::string_view payload) {
    ByteReader r(payload);
    ProcNetCounters out;
    auto count = r.get<std::uint32_t>();
    if (count > r.left() / 12) {
        throw MalformedPayload("net counters record with more counters than bytes");
    }
    for (std::uint32_t i = 0; i < count; ++i) {
        std::string name = r.str();
        out[std::move(name)] = r.get<std::uint64_t>();
    }
    r.expect_done("net counters");
    return out;
}

std::string encode_program_name(std::uint64_t inode, const std::string* program) {
    return encode_cgroup_name(inode, program);  // the same layout: id, known, text
}

std::pair<std::uint64_t, std::optional<std::string>> decode_program_name(std::string_view payload) {
    return decode_cgroup_name(payload);
}

}  // namespace tcpscope
