// secmarkc-boot: the boot path without Node. It sends the nf_tables batch the last `apply` sent
// (kept, already encoded, in <state-dir>/<table>.boot) with a fresh generation id, once it has
// verified that nothing it depends on changed since; on any doubt it execs the full apply it was
// given after `--` (the unit's node command line), which compiles, audits and reports.
//
//   secmarkc-boot --state-dir DIR [--table T] [--no-lsm] POLICY -- FALLBACK_COMMAND...
//
// The checks, in order (README, "At boot"): the state directory and boot file are trusted and the
// batch matches its sha256; the table's lock is free (held until we exit); the index is the one
// the boot file was written with; POLICY is the recorded path with the recorded sha256; the
// SELinux binary policy file is the one the exclusivity audit ran against (or the record is
// --no-lsm, as we were told); the record has no apps by program path (their labels would need
// checking: declined). Kernel refusals are not explained here: the full apply explains them.
//
// C++17 and libc only (libstdc++ linked statically): no allocation beyond the file's bytes.

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace {

// ------------------------------------------------------------------ SHA-256 (FIPS 180-4)

class Sha256 {
 public:
  Sha256() { Reset(); }

  void Reset() {
    static const uint32_t init[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                     0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(h_, init, sizeof h_);
    used_ = 0;
    total_ = 0;
  }

  void Update(const uint8_t* data, size_t len) {
    total_ += len;
    while (len > 0) {
      size_t take = 64 - used_ < len ? 64 - used_ : len;
      memcpy(block_ + used_, data, take);
      used_ += take;
      data += take;
      len -= take;
      if (used_ == 64) {
        Compress(block_);
        used_ = 0;
      }
    }
  }

  // Lower-case hex, as Node's createHash('sha256').digest('hex').
  std::string HexDigest() {
    uint64_t bits = total_ * 8;
    uint8_t pad = 0x80;
    Update(&pad, 1);
    uint8_t zero = 0;
    while (used_ != 56) Update(&zero, 1);
    uint8_t length[8];
    for (int i = 0; i < 8; i++) length[i] = static_cast<uint8_t>(bits >> (56 - 8 * i));
    Update(length, 8);
    static const char hex[] = "0123456789abcdef";
    std::string out;
    for (uint32_t word : h_) {
      for (int shift = 28; shift >= 0; shift -= 4) out += hex[(word >> shift) & 0xf];
    }
    return out;
  }

 private:
  static uint32_t Rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

  void Compress(const uint8_t* p) {
    static const uint32_t k[64] = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};
    uint32_t w[64];
    for (int i = 0; i < 16; i++) {
      w[i] = (uint32_t{p[4 * i]} << 24) | (uint32_t{p[4 * i + 1]} << 16) | (uint32_t{p[4 * i + 2]} << 8) | p[4 * i + 3];
    }
    for (int i = 16; i < 64; i++) {
      uint32_t s0 = Rotr(w[i - 15], 7) ^ Rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
      uint32_t s1 = Rotr(w[i - 2], 17) ^ Rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h_[0], b = h_[1], c = h_[2], d = h_[3], e = h_[4], f = h_[5], g = h_[6], h = h_[7];
    for (int i = 0; i < 64; i++) {
      uint32_t t1 = h + (Rotr(e, 6) ^ Rotr(e, 11) ^ Rotr(e, 25)) + ((e & f) ^ (~e & g)) + k[i] + w[i];
      uint32_t t2 = (Rotr(a, 2) ^ Rotr(a, 13) ^ Rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
      h = g;
      g = f;
      f = e;
      e = d + t1;
      d = c;
      c = b;
      b = a;
      a = t1 + t2;
    }
    h_[0] += a; h_[1] += b; h_[2] += c; h_[3] += d; h_[4] += e; h_[5] += f; h_[6] += g; h_[7] += h;
  }

  uint32_t h_[8];
  uint8_t block_[64];
  size_t used_;
  uint64_t total_;
};

std::string Sha256Hex(const uint8_t* data, size_t len) {
  Sha256 s;
  s.Update(data, len);
  return s.HexDigest();
}

// ------------------------------------------------------------------ fallback

struct Args {
  std::string stateDir;
  std::string table = "secmarkc";
  bool lsm = true;
  std::string policy;
  char** fallback = nullptr;  // argv after `--`, NULL-terminated
  bool selfTest = false;
};

const Args* gArgs = nullptr;

// Any doubt ends here: the full apply decides. Never returns. Without a fallback command there
// is nothing to hand over to: exit 3 (the full apply was not run).
[[noreturn]] void FallBack(const std::string& why) {
  fprintf(stderr, "secmarkc-boot: %s: running the full apply\n", why.c_str());
  fflush(stderr);
  if (gArgs && gArgs->fallback && gArgs->fallback[0]) {
    execv(gArgs->fallback[0], gArgs->fallback);
    fprintf(stderr, "secmarkc-boot: cannot run %s: %s\n", gArgs->fallback[0], strerror(errno));
  }
  _exit(3);
}

std::string Errno(const char* what) { return std::string(what) + ": " + strerror(errno); }

// ------------------------------------------------------------------ trust (state-dir.ts)

// Why `st` may not be trusted, or "": owned by root or us, and nobody else may write it (a
// root-owned sticky directory such as /tmp excepted), as state-dir.ts's distrust().
std::string Distrust(const struct stat& st, const std::string& what) {
  if (st.st_uid != 0 && st.st_uid != geteuid()) return what + " is not owned by root";
  bool sticky = S_ISDIR(st.st_mode) && (st.st_mode & S_ISVTX) && st.st_uid == 0;
  if ((st.st_mode & 022) && !sticky) return what + " is writable by others";
  return "";
}

void CheckStateDir(const std::string& dir) {
  if (dir.empty() || dir[0] != '/') FallBack("the state directory must be an absolute path");
  struct stat st;
  if (stat(dir.c_str(), &st) != 0) FallBack(Errno(("state directory " + dir).c_str()));
  if (!S_ISDIR(st.st_mode)) FallBack("the state directory " + dir + " is not a directory");
  std::string why = Distrust(st, "the state directory " + dir);
  if (!why.empty()) FallBack(why);
  std::string above = dir;
  while (above.size() > 1) {
    size_t slash = above.find_last_of('/');
    above = slash == 0 ? "/" : above.substr(0, slash);
    if (stat(above.c_str(), &st) != 0) FallBack(Errno(above.c_str()));
    why = Distrust(st, above + ", above the state directory,");
    if (!why.empty()) FallBack(why);
  }
}

// A state file opened without following a symlink, regular and trusted; -1 when it does not exist.
int OpenTrusted(const std::string& path, int flags) {
  int fd = open(path.c_str(), flags | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == ENOENT && !(flags & O_CREAT)) return -1;
    FallBack(Errno(path.c_str()));
  }
  struct stat st;
  if (fstat(fd, &st) != 0) FallBack(Errno(path.c_str()));
  if (!S_ISREG(st.st_mode)) FallBack(path + " is not a regular file");
  std::string why = Distrust(st, path);
  if (!why.empty()) FallBack(why);
  return fd;
}

// A whole file's bytes; false when it does not exist.
bool ReadAll(int fd, const std::string& path, std::vector<uint8_t>& out) {
  struct stat st;
  if (fstat(fd, &st) != 0) FallBack(Errno(path.c_str()));
  out.resize(static_cast<size_t>(st.st_size));
  size_t done = 0;
  for (;;) {
    if (done == out.size()) out.resize(out.size() + 65536);  // grew since fstat
    ssize_t n = read(fd, out.data() + done, out.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) FallBack(Errno(path.c_str()));
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  out.resize(done);
  close(fd);
  return true;
}

// ------------------------------------------------------------------ the boot file

struct FileIdentity {
  std::string path;
  uint64_t dev = 0, ino = 0, size = 0, mtimeNs = 0, ctimeNs = 0;
};

struct BootFile {
  std::string table, appliedAt, digest, lsm, policy, policySha, indexSha, batchSha;
  bool selinuxPolicyNamed = false;  // the header has a selinux-policy line other than "none"
  FileIdentity selinuxPolicy;
  bool hasPrograms = false;
  size_t genIdOffset = 0, batchLength = 0, batchStart = 0;
  std::vector<uint8_t> bytes;  // the whole file; the batch is bytes[batchStart, +batchLength)
};

bool ParseU64(const std::string& s, uint64_t& out) {
  if (s.empty() || s.size() > 20) return false;
  char* end = nullptr;
  errno = 0;
  unsigned long long v = strtoull(s.c_str(), &end, 10);
  if (errno != 0 || *end != '\0' || s[0] == '-') return false;
  out = v;
  return true;
}

// "DEV INO SIZE MTIME_NS CTIME_NS PATH" (the path last: it may hold spaces).
bool ParseIdentity(const std::string& value, FileIdentity& id) {
  uint64_t* fields[5] = {&id.dev, &id.ino, &id.size, &id.mtimeNs, &id.ctimeNs};
  size_t pos = 0;
  for (uint64_t* field : fields) {
    size_t space = value.find(' ', pos);
    if (space == std::string::npos || !ParseU64(value.substr(pos, space - pos), *field)) return false;
    pos = space + 1;
  }
  id.path = value.substr(pos);
  return !id.path.empty() && id.path[0] == '/';
}

// The header: `key value` lines up to a blank line; unknown keys are refused (a newer writer).
void ParseHeader(BootFile& b, const std::string& path) {
  const std::vector<uint8_t>& f = b.bytes;
  size_t pos = 0;
  bool format = false;
  uint64_t n = 0;
  for (;;) {
    if (pos >= f.size()) FallBack(path + ": the header does not end");
    const uint8_t* nl = static_cast<const uint8_t*>(memchr(f.data() + pos, '\n', f.size() - pos));
    if (!nl) FallBack(path + ": the header does not end");
    std::string line(reinterpret_cast<const char*>(f.data() + pos), static_cast<size_t>(nl - (f.data() + pos)));
    pos = static_cast<size_t>(nl - f.data()) + 1;
    if (line.empty()) break;
    size_t space = line.find(' ');
    if (space == std::string::npos) FallBack(path + ": malformed header line");
    std::string key = line.substr(0, space), value = line.substr(space + 1);
    if (key == "format") format = value == "secmarkc-boot 1";
    else if (key == "table") b.table = value;
    else if (key == "applied-at") b.appliedAt = value;
    else if (key == "digest") b.digest = value;
    else if (key == "lsm") b.lsm = value;
    else if (key == "policy") b.policy = value;
    else if (key == "policy-sha256") b.policySha = value;
    else if (key == "index-sha256") b.indexSha = value;
    else if (key == "batch-sha256") b.batchSha = value;
    else if (key == "program") b.hasPrograms = true;
    else if (key == "selinux-policy") {
      b.selinuxPolicyNamed = value != "none";
      if (b.selinuxPolicyNamed && !ParseIdentity(value, b.selinuxPolicy)) FallBack(path + ": malformed selinux-policy");
    } else if (key == "genid-offset" && ParseU64(value, n)) b.genIdOffset = n;
    else if (key == "batch-length" && ParseU64(value, n)) b.batchLength = n;
    else FallBack(path + ": unknown header line \"" + key + "\"");
  }
  if (!format) FallBack(path + ": not a boot file of this format");
  if (b.table.empty() || b.policy.empty() || b.policySha.size() != 64 || b.indexSha.size() != 64 || b.batchSha.size() != 64 ||
      (b.lsm != "secmark" && b.lsm != "counter")) {
    FallBack(path + ": header fields missing");
  }
  b.batchStart = pos;
  if (b.batchLength != f.size() - pos) FallBack(path + ": the batch is not the length the header says");
  // The generation id is the value of BATCH_BEGIN's NFNL_BATCH_GENID attribute (a be32 after its
  // 4-byte header, which must say: length 8, type NFNL_BATCH_GENID).
  if (b.genIdOffset < 4 || b.genIdOffset + 4 > b.batchLength) FallBack(path + ": genid-offset is outside the batch");
  const uint8_t* attr = f.data() + pos + b.genIdOffset - 4;
  uint16_t attrLen, attrType;
  memcpy(&attrLen, attr, 2);
  memcpy(&attrType, attr + 2, 2);
  if (attrLen != 8 || attrType != NFNL_BATCH_GENID) FallBack(path + ": genid-offset does not point at the generation id");
}

// Check 1: trusted, parses, batch sha256 as recorded.
void ReadBootFile(const std::string& path, BootFile& b) {
  int fd = OpenTrusted(path, O_RDONLY);
  if (fd < 0) FallBack("no boot file " + path + " (no apply recorded one)");
  ReadAll(fd, path, b.bytes);
  ParseHeader(b, path);
  if (Sha256Hex(b.bytes.data() + b.batchStart, b.batchLength) != b.batchSha) FallBack(path + ": the batch does not match its sha256");
}

// ------------------------------------------------------------------ checks 2-6

// Check 2: `<table>.lock` (as lock.ts: opened read-only, created if missing). Held until exit;
// O_CLOEXEC lets the fallback take it.
int TakeLock(const std::string& path) {
  int fd = OpenTrusted(path, O_RDONLY | O_CREAT);
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    FallBack(errno == EWOULDBLOCK ? "another secmarkc holds " + path : Errno(path.c_str()));
  }
  return fd;
}

std::string FileSha256(const std::string& path, bool trusted, bool& exists) {
  int fd = trusted ? OpenTrusted(path, O_RDONLY) : open(path.c_str(), O_RDONLY | O_CLOEXEC);
  exists = fd >= 0;
  if (!exists) {
    if (errno != ENOENT && !trusted) FallBack(Errno(path.c_str()));
    return "";
  }
  std::vector<uint8_t> bytes;
  ReadAll(fd, path, bytes);
  return Sha256Hex(bytes.data(), bytes.size());
}

// Check 3: the index is byte for byte the one committed with this boot file.
void CheckIndex(const std::string& path, const BootFile& b) {
  bool exists;
  if (FileSha256(path, true, exists) != b.indexSha || !exists) FallBack(path + " changed since the boot file was written");
}

// Check 4: POLICY is the recorded file, unchanged.
void CheckPolicy(const std::string& policy, const BootFile& b) {
  std::string absolute = policy;
  if (absolute.empty() || absolute[0] != '/') {
    char cwd[4096];
    if (!getcwd(cwd, sizeof cwd)) FallBack(Errno("getcwd"));
    absolute = std::string(cwd) + "/" + policy;
  }
  if (absolute != b.policy) FallBack("the record is of " + b.policy + ", not " + absolute);
  bool exists;
  std::string sha = FileSha256(absolute, false, exists);
  if (!exists) FallBack("the policy " + absolute + " does not exist");
  if (sha != b.policySha) FallBack("the policy " + absolute + " changed since it was applied");
}

uint64_t Ns(const struct timespec& t) { return static_cast<uint64_t>(t.tv_sec) * 1000000000u + static_cast<uint64_t>(t.tv_nsec); }

// Check 5: secmark objects need SELinux, and the binary policy the exclusivity audit ran against
// (any record that names one is held to it); a counter record (--no-lsm) is loaded only when we
// were told --no-lsm too.
void CheckSelinux(const Args& a, const BootFile& b) {
  if ((b.lsm == "secmark") != a.lsm) FallBack("the record is " + b.lsm + (a.lsm ? ", not secmark" : ", not counter (--no-lsm)"));
  if (b.selinuxPolicyNamed) {
    const FileIdentity& id = b.selinuxPolicy;
    struct stat st;
    if (stat(id.path.c_str(), &st) != 0) FallBack(Errno(id.path.c_str()));
    if (st.st_dev != id.dev || st.st_ino != id.ino || static_cast<uint64_t>(st.st_size) != id.size || Ns(st.st_mtim) != id.mtimeNs ||
        Ns(st.st_ctim) != id.ctimeNs) {
      FallBack("the SELinux policy " + id.path + " changed since the exclusivity audit");
    }
  }
  if (b.lsm == "counter") return;
  if (access("/sys/fs/selinux/enforce", F_OK) != 0) FallBack("SELinux is not enabled (no /sys/fs/selinux/enforce)");
  if (!b.selinuxPolicyNamed) FallBack("the boot file names no SELinux policy file");
}

// ------------------------------------------------------------------ netlink

constexpr uint16_t kNftables = NFNL_SUBSYS_NFTABLES << 8;
constexpr uint16_t kGetGen = kNftables | 16;  // NFT_MSG_GETGEN
constexpr uint16_t kNewGen = kNftables | 15;  // NFT_MSG_NEWGEN
constexpr int kReceiveBuffer = 1 << 20;

int OpenSocket() {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
  if (fd < 0) FallBack(Errno("socket"));
  // The batch's answers are errors (echoing only headers: CAP_ACK) and one ACK: 1 MiB is ample.
  int bytes = kReceiveBuffer, on = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes) != 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
  setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &on, sizeof on);
  setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &on, sizeof on);
  // A kernel that stops answering must not hang the boot: the full apply gets its turn.
  struct timeval timeout = {5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  if (bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) FallBack(Errno("bind"));
  return fd;
}

void Send(int fd, const uint8_t* data, size_t len) {
  // netlink_sendmsg refuses a datagram larger than the send buffer (see the addon's SendAll).
  int need = static_cast<int>(len + 64);
  if (len > (1u << 30)) FallBack("the batch is too large");
  int sndbuf = 0;
  socklen_t optlen = sizeof sndbuf;
  getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &optlen);
  if (static_cast<size_t>(sndbuf) < len + 32 && setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &need, sizeof need) != 0) {
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &need, sizeof need);
  }
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  ssize_t sent;
  do sent = sendto(fd, data, len, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel);
  while (sent < 0 && errno == EINTR);
  if (sent < 0) FallBack(Errno("sendmsg"));
}

// One datagram into `buf`; its length.
size_t Receive(int fd, std::vector<uint8_t>& buf) {
  for (;;) {
    ssize_t n = recv(fd, buf.data(), buf.size(), 0);
    if (n >= 0) return static_cast<size_t>(n);
    if (errno == EINTR) continue;
    FallBack(errno == EAGAIN ? "the kernel did not answer within 5 s" : Errno("recv"));
  }
}

// The NFTA_GEN_ID of the NEWGEN answering GETGEN, as its wire bytes (big-endian).
uint32_t CurrentGeneration(int fd, uint32_t seq) {
  struct {
    nlmsghdr h;
    nfgenmsg g;
  } req{};
  req.h.nlmsg_len = sizeof req;
  req.h.nlmsg_type = kGetGen;
  req.h.nlmsg_flags = NLM_F_REQUEST;
  req.h.nlmsg_seq = seq;
  req.g.nfgen_family = AF_UNSPEC;
  Send(fd, reinterpret_cast<const uint8_t*>(&req), sizeof req);
  std::vector<uint8_t> buf(65536);
  size_t len = Receive(fd, buf);
  for (size_t pos = 0; pos + sizeof(nlmsghdr) <= len;) {
    nlmsghdr h;
    memcpy(&h, buf.data() + pos, sizeof h);
    if (h.nlmsg_len < sizeof h || pos + h.nlmsg_len > len) break;
    if (h.nlmsg_type == kNewGen && h.nlmsg_seq == seq) {
      for (size_t a = pos + NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(nfgenmsg)); a + 4 <= pos + h.nlmsg_len;) {
        uint16_t alen, atype;
        memcpy(&alen, buf.data() + a, 2);
        memcpy(&atype, buf.data() + a + 2, 2);
        if (alen < 4) break;
        if ((atype & NLA_TYPE_MASK) == 1 && alen == 8) {  // NFTA_GEN_ID
          uint32_t gen;
          memcpy(&gen, buf.data() + a + 4, 4);
          return gen;
        }
        a += NLA_ALIGN(alen);
      }
    }
    pos += NLMSG_ALIGN(h.nlmsg_len);
  }
  FallBack("the kernel did not report a ruleset generation");
}

// The seq of the message the encoder flagged NLM_F_ACK (the last before BATCH_END): its ACK
// closes the batch's answers.
uint32_t AckedSeq(const uint8_t* batch, size_t len) {
  bool found = false;
  uint32_t seq = 0;
  for (size_t pos = 0; pos + sizeof(nlmsghdr) <= len;) {
    nlmsghdr h;
    memcpy(&h, batch + pos, sizeof h);
    if (h.nlmsg_len < sizeof h || pos + h.nlmsg_len > len) FallBack("the recorded batch is malformed");
    if (h.nlmsg_flags & NLM_F_ACK) {
      seq = h.nlmsg_seq;
      found = true;
    }
    pos += NLMSG_ALIGN(h.nlmsg_len);
  }
  if (!found) FallBack("the recorded batch asks for no ACK");
  return seq;
}

// 0 when the kernel applied the batch (the ACK of `acked`), else the first error's errno.
int Outcome(int fd, uint32_t acked) {
  std::vector<uint8_t> buf(65536);
  for (;;) {
    size_t len = Receive(fd, buf);
    for (size_t pos = 0; pos + sizeof(nlmsghdr) <= len;) {
      nlmsghdr h;
      memcpy(&h, buf.data() + pos, sizeof h);
      if (h.nlmsg_len < sizeof h || pos + h.nlmsg_len > len) break;
      if (h.nlmsg_type == NLMSG_ERROR && h.nlmsg_len >= NLMSG_HDRLEN + sizeof(nlmsgerr)) {
        nlmsgerr e;
        memcpy(&e, buf.data() + pos + NLMSG_HDRLEN, sizeof e);
        if (e.error != 0) return -e.error;
        if (e.msg.nlmsg_seq == acked) return 0;
      }
      pos += NLMSG_ALIGN(h.nlmsg_len);
    }
  }
}

// Check 7: the batch with the current generation id; a generation race (ERESTART: another
// writer between our GETGEN and the batch) is retried with a fresh one.
uint32_t Load(BootFile& b, int* sock) {
  uint8_t* batch = b.bytes.data() + b.batchStart;
  uint32_t acked = AckedSeq(batch, b.batchLength);
  for (int attempt = 1;; attempt++) {
    int fd = OpenSocket();
    uint32_t gen = CurrentGeneration(fd, acked + 1);
    memcpy(batch + b.genIdOffset, &gen, 4);
    Send(fd, batch, b.batchLength);
    int err = Outcome(fd, acked);
    if (err == 0) {
      *sock = fd;
      return ntohl(gen);
    }
    close(fd);
    if (err == ERESTART && attempt < 5) continue;
    FallBack(std::string("the kernel refused the recorded batch (") + strerror(err) + ")");
  }
}

// ------------------------------------------------------------------ history and main

// One line in <table>.history, as appendHistory() writes them; a failure is said, not fatal
// (the table is loaded).
void AppendHistory(const std::string& path, const BootFile& b, uint32_t generation) {
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  struct tm tm;
  gmtime_r(&now.tv_sec, &tm);
  char at[32], line[512];
  strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%S", &tm);
  int n = snprintf(line, sizeof line, "{\"at\":\"%s.%03ldZ\",\"event\":\"boot\",\"digest\":\"%s\",\"generation\":%u}\n", at,
                   now.tv_nsec / 1000000, b.digest.c_str(), generation);
  int fd = open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  struct stat st;
  bool ok = fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && Distrust(st, path).empty() && n > 0 &&
            n < static_cast<int>(sizeof line) && write(fd, line, static_cast<size_t>(n)) == n && fsync(fd) == 0;
  if (!ok) fprintf(stderr, "secmarkc-boot: could not append to %s\n", path.c_str());
  if (fd >= 0) close(fd);
}

// The batch is committed once acknowledged; what is left nobody at boot waits for. Closing the
// socket waits for the kernel to free the table the batch replaced (nf_tables flushes its destroy
// work, RCU grace periods and the old elements, on NETLINK_URELEASE: 10-90 ms here for 10 entries,
// more for a large table), and the history line is fsynced. A child does both once we have exited
// (it waits for EOF on a pipe only we hold), without our lock (the next writer need not wait for
// it) and without our stdio (nor whoever reads our output). If fork fails, we do them ourselves.
void FinishInBackground(int sock, int lockFd, const std::string& history, const BootFile& b, uint32_t generation) {
  int exited[2];
  pid_t child = pipe2(exited, O_CLOEXEC) == 0 ? fork() : -1;
  if (child == 0) {
    close(lockFd);
    close(exited[1]);
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    for (int std = 0; std <= 2 && null >= 0; std++) dup2(null, std);
    char byte;
    while (read(exited[0], &byte, 1) < 0 && errno == EINTR) {
    }
    close(sock);
    AppendHistory(history, b, generation);
    _exit(0);
  }
  close(sock);
  if (child < 0) AppendHistory(history, b, generation);
}

void Usage() {
  fprintf(stderr, "usage: secmarkc-boot --state-dir DIR [--table T] [--no-lsm] POLICY -- FALLBACK_COMMAND...\n");
}

// Arguments; a malformed line with a fallback still falls back (the boot must not be lost to a typo).
Args ParseArgs(int argc, char** argv) {
  Args a;
  int i = 1;
  for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
    std::string arg = argv[i];
    if (arg == "--state-dir" && i + 1 < argc) a.stateDir = argv[++i];
    else if (arg == "--table" && i + 1 < argc) a.table = argv[++i];
    else if (arg == "--no-lsm") a.lsm = false;
    else if (arg == "--self-test") a.selfTest = true;
    else if (arg[0] != '-' && a.policy.empty()) a.policy = arg;
    else a.policy = "\n";  // marks the line malformed
  }
  if (i < argc) a.fallback = argv + i + 1;
  return a;
}

// SHA-256 against FIPS 180-2's vectors (tests run it; a wrong digest would only ever fall back).
int SelfTest() {
  struct {
    const char* in;
    size_t repeat;
    const char* out;
  } vectors[] = {
      {"", 1, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
      {"abc", 1, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
      {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 1, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
      {"a", 1000000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
  };
  int failed = 0;
  for (const auto& v : vectors) {
    Sha256 s;
    for (size_t r = 0; r < v.repeat; r++) s.Update(reinterpret_cast<const uint8_t*>(v.in), strlen(v.in));
    std::string got = s.HexDigest();
    printf("%s %s\n", got == v.out ? "ok" : "FAIL", got.c_str());
    failed += got != v.out;
  }
  return failed ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args args = ParseArgs(argc, argv);
  gArgs = &args;
  if (args.selfTest) return SelfTest();
  if (args.stateDir.empty() || args.policy.empty() || args.policy == "\n" || !args.fallback || !args.fallback[0]) {
    Usage();
    FallBack("malformed command line");
  }
  const std::string base = args.stateDir + "/" + args.table;
  BootFile b;
  CheckStateDir(args.stateDir);
  ReadBootFile(base + ".boot", b);
  if (b.table != args.table) FallBack("the boot file is of table " + b.table);
  int lockFd = TakeLock(base + ".lock");
  CheckIndex(base + ".state.json", b);
  CheckPolicy(args.policy, b);
  CheckSelinux(args, b);
  if (b.hasPrograms) FallBack("the record has apps by program path (their files' labels are checked by the full apply)");
  int sock = -1;
  uint32_t generation = Load(b, &sock);
  fflush(stdout);
  FinishInBackground(sock, lockFd, base + ".history", b, generation);
  printf("secmarkc: loaded table inet %s from the record applied at %s (%zu bytes, generation %u) without compiling\n",
         b.table.c_str(), b.appliedAt.c_str(), b.batchLength, generation);
  return 0;
}
