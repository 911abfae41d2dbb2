// secmarkc's native addon: a byte pipe to the kernel's NETLINK_NETFILTER socket.
// It opens the socket (optionally inside another network namespace), sends whole buffers and
// hands datagrams back. It knows nothing of nf_tables: encoding and decoding live in TypeScript.
// Beside it, one system call Node lacks: a non-blocking exclusive flock(2) for the state lock.

#include <napi.h>

#include <fcntl.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

namespace {

// A failed system call. Plain C++ so worker threads can carry it; turned into a JS Error only
// on the main thread (ErrnoError).
struct SysError {
  int err;
  const char* syscall;
};

[[noreturn]] void Fail(const char* syscall) { throw SysError{errno, syscall}; }

// Same shape as Node's own errno exceptions: errno is positive (the value in
// os.constants.errno), code is the symbolic name.
Napi::Error ErrnoError(Napi::Env env, const SysError& e) {
  const char* name = strerrorname_np(e.err);
  const char* text = strerrordesc_np(e.err);
  Napi::Error error = Napi::Error::New(
      env, std::string(e.syscall) + ": " + (text != nullptr ? text : "Unknown error " + std::to_string(e.err)));
  error.Set("errno", Napi::Number::New(env, e.err));
  error.Set("code", Napi::String::New(env, name != nullptr ? name : "UNKNOWN"));
  error.Set("syscall", Napi::String::New(env, e.syscall));
  return error;
}

// Owns one file descriptor, so no early return or exception can leak it.
class Fd {
 public:
  explicit Fd(int fd = -1) noexcept : fd_(fd) {}
  ~Fd() { Reset(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      Reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  int Get() const noexcept { return fd_; }
  // close(2) errors are not actionable: on Linux the descriptor is released even on EINTR.
  void Reset() noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

// The socket plus an eventfd that close() signals. Shared with in-flight receive workers so a
// descriptor is never closed (and its number reused) while a worker thread still polls it.
struct Channel {
  Fd sock;
  Fd wake;
  // Peek-then-read must be one step, or two readers could split a datagram's size from its data.
  std::mutex recvLock;
};

void SetBufferSize(int fd, int forceOption, int plainOption, int bytes) {
  if (setsockopt(fd, SOL_SOCKET, forceOption, &bytes, sizeof bytes) == 0) return;
  // The FORCE variants need CAP_NET_ADMIN; the plain ones are capped by net.core.[rw]mem_max.
  if (errno != EPERM) Fail("setsockopt");
  if (setsockopt(fd, SOL_SOCKET, plainOption, &bytes, sizeof bytes) != 0) Fail("setsockopt");
}

Fd CreateSocket() {
  Fd sock(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER));
  if (sock.Get() < 0) Fail("socket");
  return sock;
}

// setns() moves only the calling thread, so the socket is created in the target namespace and
// the JS thread goes straight back; the socket stays bound to the namespace it was made in.
Fd CreateSocketIn(int netnsFd) {
  Fd home(open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  if (home.Get() < 0) Fail("open");
  if (setns(netnsFd, CLONE_NEWNET) != 0) Fail("setns");
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
  int err = errno;
  Fd sock(fd);
  // Staying in the foreign namespace would silently redirect all of this thread's later
  // networking; no caller can recover from that, so it is fatal.
  if (setns(home.Get(), CLONE_NEWNET) != 0) {
    Napi::Error::Fatal("secmarkc_native", "setns: cannot return to the original network namespace");
  }
  if (fd < 0) throw SysError{err, "socket"};
  return sock;
}

std::shared_ptr<Channel> OpenChannel(int netnsFd, int receiveBufferBytes) {
  auto ch = std::make_shared<Channel>();
  ch->sock = netnsFd >= 0 ? CreateSocketIn(netnsFd) : CreateSocket();
  int fd = ch->sock.Get();

  SetBufferSize(fd, SO_RCVBUFFORCE, SO_RCVBUF, receiveBufferBytes);
  int on = 1;
  // EXT_ACK: errors carry the offending attribute's offset (mapped back to the policy file).
  // CAP_ACK: error replies do not echo the failing request, so many errors cannot overrun us.
  if (setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &on, sizeof on) != 0) Fail("setsockopt");
  if (setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &on, sizeof on) != 0) Fail("setsockopt");

  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;  // nl_pid 0: the kernel assigns a unique port id
  if (bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) Fail("bind");

  ch->wake = Fd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (ch->wake.Get() < 0) Fail("eventfd");
  return ch;
}

uint32_t PortId(int fd) {
  sockaddr_nl local{};
  socklen_t len = sizeof local;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) != 0) Fail("getsockname");
  return local.nl_pid;
}

void SendAll(int fd, const uint8_t* data, size_t len) {
  // netlink_sendmsg() refuses len > sk_sndbuf - 32 with EMSGSIZE (the kernel stores twice the
  // value set), so a large batch first raises the send buffer.
  if (len > INT_MAX / 2 - 64) throw SysError{EMSGSIZE, "sendmsg"};
  int sndbuf = 0;
  socklen_t optlen = sizeof sndbuf;
  if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &optlen) != 0) Fail("getsockopt");
  if (len + 32 > static_cast<size_t>(sndbuf)) SetBufferSize(fd, SO_SNDBUFFORCE, SO_SNDBUF, static_cast<int>(len + 64));

  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  iovec iov{const_cast<uint8_t*>(data), len};
  msghdr msg{};
  msg.msg_name = &kernel;
  msg.msg_namelen = sizeof kernel;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  ssize_t sent;
  do sent = sendmsg(fd, &msg, 0);
  while (sent < 0 && errno == EINTR);
  if (sent < 0) Fail("sendmsg");
  if (static_cast<size_t>(sent) != len) throw SysError{EMSGSIZE, "sendmsg"};  // datagrams are all or nothing; never seen
}

// What recvmsg is offered, at least: more than the kernel's cap on a dump part
// (SKB_WITH_OVERHEAD(32768)), so that dump parts are as large as the kernel makes them.
constexpr size_t kDumpPartBytes = 64 * 1024;

// One queued datagram, whole whatever its size, into the first `length` bytes of `buffer` (grown
// as needed, never shrunk); false when none is queued. Errors the kernel parked on the socket
// (ENOBUFS after an overrun) are thrown.
bool ReceiveOne(Channel& ch, std::vector<uint8_t>& buffer, size_t& length) {
  std::lock_guard<std::mutex> hold(ch.recvLock);
  const int fd = ch.sock.Get();
  for (;;) {
    // MSG_TRUNC makes netlink return the datagram's real length, not the bytes copied.
    ssize_t size = recv(fd, nullptr, 0, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);
    if (size < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return false;
      Fail("recv");
    }
    // The kernel sizes the next part of a dump by the largest buffer recvmsg was given (up to
    // ~32 KiB, netlink_recvmsg's max_recvmsg_len): offered only this datagram's size, it keeps
    // dump parts at one page, and nf_tables walks a set from its start for every part.
    const size_t offered = std::max(static_cast<size_t>(size), kDumpPartBytes);
    if (buffer.size() < offered) buffer.resize(offered);
    ssize_t got = recv(fd, buffer.data(), buffer.size(), MSG_TRUNC | MSG_DONTWAIT);
    if (got < 0) {
      if (errno == EINTR) continue;
      Fail("recv");
    }
    if (got != size) throw SysError{EMSGSIZE, "recv"};  // cannot happen under the lock
    length = static_cast<size_t>(got);
    return true;
  }
}

// Waits for one datagram off the JS thread, so a dump never blocks the event loop.
class ReceiveWorker : public Napi::AsyncWorker {
 public:
  ReceiveWorker(Napi::Env env, std::shared_ptr<Channel> ch, int timeoutMs)
      : Napi::AsyncWorker(env, "secmarkc.receive"),
        ch_(std::move(ch)),
        timeoutMs_(timeoutMs),
        deferred_(Napi::Promise::Deferred::New(env)) {}

  Napi::Promise Promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override {
    try {
      received_ = Wait();
    } catch (const SysError& e) {
      failure_ = e;
    } catch (const std::bad_alloc&) {
      failure_ = SysError{ENOMEM, "recv"};
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (failure_.err != 0) {
      deferred_.Reject(ErrnoError(env, failure_).Value());
    } else if (!received_) {
      deferred_.Resolve(env.Null());
    } else {
      deferred_.Resolve(Napi::Buffer<uint8_t>::Copy(env, data_.data(), length_));
    }
  }

 private:
  bool Wait() {
    using Clock = std::chrono::steady_clock;
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeoutMs_);
    for (;;) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
      pollfd fds[2] = {{ch_->sock.Get(), POLLIN, 0}, {ch_->wake.Get(), POLLIN, 0}};
      int ready = poll(fds, 2, left > 0 ? static_cast<int>(left) : 0);
      if (ready < 0) {
        if (errno == EINTR) continue;
        Fail("poll");
      }
      if (fds[1].revents != 0) return false;  // close() was called
      if (ready == 0) return false;           // timed out
      // POLLERR lands here too: recv then reports the parked error (ENOBUFS).
      if (ReceiveOne(*ch_, data_, length_)) return true;
      // Another reader took it first; wait out the rest of the timeout.
    }
  }

  std::shared_ptr<Channel> ch_;
  int timeoutMs_;
  Napi::Promise::Deferred deferred_;
  std::vector<uint8_t> data_;
  size_t length_ = 0;
  bool received_ = false;
  SysError failure_{0, ""};
};

// Sends one buffer off the JS thread. The kernel processes an nf_tables batch inside sendmsg
// (tens of milliseconds for large maps), and JS can do other work meanwhile. The message is held
// by a reference until the send is done, and read in place: no copy.
class SendWorker : public Napi::AsyncWorker {
 public:
  SendWorker(Napi::Env env, std::shared_ptr<Channel> ch, Napi::Uint8Array message)
      : Napi::AsyncWorker(env, "secmarkc.send"),
        ch_(std::move(ch)),
        message_(Napi::Persistent(message)),
        data_(message.Data()),
        length_(message.ByteLength()),
        deferred_(Napi::Promise::Deferred::New(env)) {}

  Napi::Promise Promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override {
    try {
      SendAll(ch_->sock.Get(), data_, length_);
    } catch (const SysError& e) {
      failure_ = e;
    }
  }

  void OnOK() override {
    message_.Reset();
    if (failure_.err != 0) {
      deferred_.Reject(ErrnoError(Env(), failure_).Value());
    } else {
      deferred_.Resolve(Env().Undefined());
    }
  }

 private:
  std::shared_ptr<Channel> ch_;
  Napi::Reference<Napi::Uint8Array> message_;
  const uint8_t* data_;
  size_t length_;
  Napi::Promise::Deferred deferred_;
  SysError failure_{0, ""};
};

int IntArgument(const Napi::CallbackInfo& info, size_t index, const char* name, int min) {
  Napi::Value value = info[index];
  if (!value.IsNumber()) throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a number");
  double number = value.As<Napi::Number>().DoubleValue();
  if (!(number >= min && number <= INT_MAX) || number != static_cast<double>(static_cast<int64_t>(number))) {
    throw Napi::RangeError::New(info.Env(), std::string(name) + " must be an integer from " + std::to_string(min) +
                                                " to " + std::to_string(INT_MAX));
  }
  return static_cast<int>(number);
}

// new NetfilterSocket(netnsFd /* -1: current namespace */, receiveBufferBytes)
class Socket : public Napi::ObjectWrap<Socket> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NetfilterSocket",
                       {
                           InstanceAccessor<&Socket::GetPortId>("portId"),
                           InstanceMethod<&Socket::Send>("send"),
                           InstanceMethod<&Socket::SendAsync>("sendAsync"),
                           InstanceMethod<&Socket::Drain>("drain"),
                           InstanceMethod<&Socket::Receive>("receive"),
                           InstanceMethod<&Socket::Close>("close"),
                       });
  }

  explicit Socket(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Socket>(info) {
    int netnsFd = IntArgument(info, 0, "netnsFd", -1);
    int receiveBufferBytes = IntArgument(info, 1, "receiveBufferBytes", 1);
    try {
      ch_ = OpenChannel(netnsFd, receiveBufferBytes);
      portId_ = PortId(ch_->sock.Get());
    } catch (const SysError& e) {
      throw ErrnoError(info.Env(), e);
    }
  }

  // Dropping the last reference closes the descriptors, also when JS never called close().

 private:
  Napi::Value GetPortId(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), portId_); }

  Channel& Open(const Napi::CallbackInfo& info, const char* syscall) {
    if (!ch_) throw ErrnoError(info.Env(), SysError{EBADF, syscall});
    return *ch_;
  }

  void Send(const Napi::CallbackInfo& info) {
    Channel& ch = Open(info, "sendmsg");
    if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
      throw Napi::TypeError::New(info.Env(), "message must be a Uint8Array");
    }
    auto message = info[0].As<Napi::Uint8Array>();
    try {
      SendAll(ch.sock.Get(), message.Data(), message.ByteLength());
    } catch (const SysError& e) {
      throw ErrnoError(info.Env(), e);
    }
  }

  Napi::Value SendAsync(const Napi::CallbackInfo& info) {
    if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
      throw Napi::TypeError::New(info.Env(), "message must be a Uint8Array");
    }
    if (!ch_) {
      auto deferred = Napi::Promise::Deferred::New(info.Env());
      deferred.Reject(ErrnoError(info.Env(), SysError{EBADF, "sendmsg"}).Value());
      return deferred.Promise();
    }
    auto* worker = new SendWorker(info.Env(), ch_, info[0].As<Napi::Uint8Array>());
    Napi::Promise promise = worker->Promise();
    worker->Queue();  // the worker deletes itself after OnOK
    return promise;
  }

  // drain(max?): at most `max` datagrams. Receiving the part of a dump that is queued makes the
  // kernel queue the next, so without a limit one call takes a whole dump.
  Napi::Value Drain(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const int max = info[0].IsUndefined() ? INT_MAX : IntArgument(info, 0, "max", 1);
    Channel& ch = Open(info, "recv");
    Napi::Array datagrams = Napi::Array::New(env);
    std::vector<uint8_t> data;
    size_t length = 0;
    try {
      while (static_cast<int>(datagrams.Length()) < max && ReceiveOne(ch, data, length)) {
        datagrams.Set(datagrams.Length(), Napi::Buffer<uint8_t>::Copy(env, data.data(), length));
      }
    } catch (const SysError& e) {
      // After an overrun the replies are incomplete; the caller must not act on a partial list.
      throw ErrnoError(env, e);
    }
    return datagrams;
  }

  Napi::Value Receive(const Napi::CallbackInfo& info) {
    int timeoutMs = IntArgument(info, 0, "timeoutMs", 0);
    if (!ch_) {
      auto deferred = Napi::Promise::Deferred::New(info.Env());
      deferred.Reject(ErrnoError(info.Env(), SysError{EBADF, "recv"}).Value());
      return deferred.Promise();
    }
    auto* worker = new ReceiveWorker(info.Env(), ch_, timeoutMs);
    Napi::Promise promise = worker->Promise();
    worker->Queue();  // the worker deletes itself after OnOK
    return promise;
  }

  void Close(const Napi::CallbackInfo&) {
    if (!ch_) return;
    uint64_t one = 1;
    // Wakes pending receive workers; they hold the channel, so the fds close after they finish.
    // A full eventfd counter (EAGAIN) is still readable, which is all that matters.
    ssize_t ignored = write(ch_->wake.Get(), &one, sizeof one);
    (void)ignored;
    // Closing a NETLINK_NETFILTER socket after a commit waits in the kernel (its NETLINK_URELEASE
    // handler flushes nf_tables' deferred destruction of the replaced objects, an RCU grace
    // period: ~10 ms measured). Nothing waits on that, so the last reference is dropped on a
    // thread of its own while this one goes on; a process that exits meanwhile still ends only
    // once the close has. The descriptor stays unusable to JS from here on either way.
    try {
      std::thread([ch = std::move(ch_)]() mutable { ch.reset(); }).detach();
    } catch (const std::system_error&) {
      // No thread to be had: the lambda, destroyed by the throw, closed it here.
    }
  }

  std::shared_ptr<Channel> ch_;
  uint32_t portId_ = 0;
};

// tryLockExclusive(fd): flock(fd, LOCK_EX | LOCK_NB). true once taken, false while another open
// file description holds it; never blocks (the caller decides how long to wait).
Napi::Value TryLockExclusive(const Napi::CallbackInfo& info) {
  int fd = IntArgument(info, 0, "fd", 0);
  for (;;) {
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) return Napi::Boolean::New(info.Env(), true);
    if (errno == EWOULDBLOCK) return Napi::Boolean::New(info.Env(), false);
    if (errno != EINTR) throw ErrnoError(info.Env(), SysError{errno, "flock"});
  }
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("NetfilterSocket", Socket::Define(env));
  exports.Set("tryLockExclusive", Napi::Function::New<TryLockExclusive>(env, "tryLockExclusive"));
  return exports;
}

}  // namespace

NODE_API_MODULE(secmarkc_native, Init)
