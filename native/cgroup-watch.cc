// The memory guard's wake-up: a thread that watches one cgroup's usage and calls back into JS
// (through an unref'd threadsafe function) the moment the working set reaches a level JS armed.
//
// The thread never reads more than it must. While usage is below the armed level the working set
// (usage − inactive_file) is too, so only the usage file is read, with pread at offset 0 on a
// kept-open fd (cgroupfs regenerates the text on every read from offset 0; a few microseconds).
// Only when usage is at or above the level is memory.stat read to get inactive_file.
//
// How the thread waits while usage is below the level:
// - cgroup v1 "memory thresholds" (cgroup-v1/memory.rst): an eventfd registered through
//   cgroup.event_control as "<eventfd> <fd of memory.usage_in_bytes> <bytes>" is signalled when
//   usage crosses <bytes> in either direction. The kernel checks only every 128 page events per
//   CPU, so the signal lags the crossing by up to that much charging. The thread sleeps in poll()
//   with no timeout and costs nothing until a crossing, except within that lag (512 KiB per CPU
//   with 4 KiB pages) below the level, where it re-reads on its period.
// - everywhere else (cgroup v2, or cgroup.event_control not writable: a read-only cgroupfs in a
//   container, PREEMPT_RT kernels refuse thresholds) it re-reads the usage file every periodMs.
// While usage is at or above the level but the working set is not (page cache makes up the
// difference, and reclaim can turn it into anon without usage moving) it re-reads every periodMs.
#include <napi.h>

#if defined(__linux__)
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <set>
#include <string>
#include <thread>

namespace {

constexpr int64_t kDisarmed = INT64_MAX;
// Distinct usage thresholds registered on one eventfd; past this the thread re-reads on its period
// for new levels (the kernel keeps every registration until the eventfd is closed).
constexpr size_t kMaxThresholds = 32;
enum { kStarting, kEventfd, kPoll };

struct Crossing {
  double usage;
  double workingSet;
  int err;
};

// Read a whole cgroup file from offset 0 into buf (NUL-terminated); -errno on failure.
ssize_t ReadAt0(int fd, char* buf, size_t size) {
  ssize_t n;
  do {
    n = pread(fd, buf, size - 1, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return -errno;
  buf[n] = '\0';
  return n;
}

bool ParseU64(const char* s, int64_t* out) {
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(s, &end, 10);
  if (end == s || errno != 0 || v > static_cast<unsigned long long>(INT64_MAX)) return false;
  *out = static_cast<int64_t>(v);
  return true;
}

// The value of "<key> <n>" in a flat-keyed file; the key must start a line.
bool FindKey(const char* text, const std::string& key, int64_t* out) {
  const char* p = text;
  while (p != nullptr && *p != '\0') {
    if (std::strncmp(p, key.c_str(), key.size()) == 0 && p[key.size()] == ' ') {
      return ParseU64(p + key.size() + 1, out);
    }
    p = std::strchr(p, '\n');
    if (p != nullptr) p++;
  }
  return false;
}

class CgroupWatcher : public Napi::ObjectWrap<CgroupWatcher> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "CgroupWatcher",
                       {InstanceMethod("arm", &CgroupWatcher::Arm),
                        InstanceMethod("close", &CgroupWatcher::Close),
                        InstanceMethod("mode", &CgroupWatcher::Mode)});
  }

  // new CgroupWatcher(usageFile, statFile, inactiveKey, eventControl | null, periodMs, callback)
  explicit CgroupWatcher(const Napi::CallbackInfo& info) : Napi::ObjectWrap<CgroupWatcher>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 6 || !info[0].IsString() || !info[1].IsString() || !info[2].IsString() ||
        !(info[3].IsString() || info[3].IsNull()) || !info[4].IsNumber() ||
        !info[5].IsFunction()) {
      Napi::TypeError::New(env,
                           "CgroupWatcher(usageFile, statFile, inactiveKey, eventControl, "
                           "periodMs, callback)")
          .ThrowAsJavaScriptException();
      return;
    }
    key_ = info[2].As<Napi::String>().Utf8Value();
    period_ms_ = info[4].As<Napi::Number>().Int32Value();
    if (period_ms_ < 1) period_ms_ = 1;
    std::string usage = info[0].As<Napi::String>().Utf8Value();
    std::string stat = info[1].As<Napi::String>().Utf8Value();
    usage_fd_ = open(usage.c_str(), O_RDONLY | O_CLOEXEC);
    if (usage_fd_ < 0) {
      ThrowErrno(env, "open");
      return;
    }
    stat_fd_ = open(stat.c_str(), O_RDONLY | O_CLOEXEC);
    if (stat_fd_ < 0) {
      ThrowErrno(env, "open");
      return;
    }
    wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake_fd_ < 0) {
      ThrowErrno(env, "eventfd");
      return;
    }
    if (info[3].IsString()) {
      // Not being able to register thresholds is not an error: the period re-read covers it.
      std::string control = info[3].As<Napi::String>().Utf8Value();
      control_fd_ = open(control.c_str(), O_WRONLY | O_CLOEXEC);
      if (control_fd_ >= 0) threshold_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    }
    if (threshold_fd_ < 0) mode_.store(kPoll);
    long cpus = sysconf(_SC_NPROCESSORS_CONF);
    lag_bytes_ = 128 * static_cast<int64_t>(sysconf(_SC_PAGESIZE)) * (cpus > 0 ? cpus : 1);
    tsfn_ = Napi::ThreadSafeFunction::New(env, info[5].As<Napi::Function>(), "slabio:cgroupWatch",
                                          0, 1);
    // The watcher must never keep the process alive.
    tsfn_.Unref(env);
    napi_add_env_cleanup_hook(env, CleanupHook, this);
    running_ = true;
    thread_ = std::thread([this] {
      Run();
      // Joined and cleaned up on the JS thread, which may be busy: close() never waits for the
      // thread, which can be inside a threshold registration (an RCU grace period, ~20 ms here).
      tsfn_.NonBlockingCall([this](Napi::Env env, Napi::Function) {
        if (env != nullptr) Finish(true);
      });
    });
    // Alive until the thread has ended, whatever the JS side drops.
    Ref();
  }

  ~CgroupWatcher() override { Finish(false); }

 private:
  void ThrowErrno(Napi::Env env, const char* syscall) {
    int err = errno;
    Napi::Error e = Napi::Error::New(env, std::string(syscall) + ": " + std::strerror(err));
    // Negated, as Node's own errors carry it.
    e.Set("errno", Napi::Number::New(env, -err));
    e.Set("syscall", Napi::String::New(env, syscall));
    e.ThrowAsJavaScriptException();
    CloseFds();
  }

  // At environment teardown the thread's last message may never be delivered: join here.
  static void CleanupHook(void* self) { static_cast<CgroupWatcher*>(self)->Finish(false); }

  // arm(bytes, thresholds?): call back once when the working set is at or above `bytes`;
  // arm(-1) disarms. `thresholds` are levels that will be armed later: registering a v1 threshold
  // waits for an RCU grace period (tens of ms on a busy host), so it is done ahead, not at arm time.
  Napi::Value Arm(const Napi::CallbackInfo& info) {
    if (info.Length() < 1 || !info[0].IsNumber() || (info.Length() > 1 && !info[1].IsArray())) {
      Napi::TypeError::New(info.Env(), "arm(bytes, thresholds?)").ThrowAsJavaScriptException();
      return info.Env().Undefined();
    }
    if (info.Length() > 1) {
      Napi::Array a = info[1].As<Napi::Array>();
      std::lock_guard<std::mutex> lock(mutex_);
      for (uint32_t i = 0; i < a.Length(); i++) {
        Napi::Value t = a.Get(i);
        if (t.IsNumber() && t.As<Napi::Number>().DoubleValue() >= 0 &&
            t.As<Napi::Number>().DoubleValue() < 9.0e18) {
          pending_.insert(static_cast<int64_t>(t.As<Napi::Number>().DoubleValue()));
        }
      }
    }
    if (stopped_) return info.Env().Undefined();
    double v = info[0].As<Napi::Number>().DoubleValue();
    level_.store(v < 0 || v >= 9.0e18 ? kDisarmed : static_cast<int64_t>(v));
    Wake();
    return info.Env().Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (!stopped_) {
      stopped_ = true;
      closing_.store(true);
      Wake();
    }
    return info.Env().Undefined();
  }

  // 'eventfd' while cgroup v1 thresholds wake the thread, 'poll' while it re-reads on its period,
  // 'starting' until the thread has registered the thresholds it was given.
  Napi::Value Mode(const Napi::CallbackInfo& info) {
    int m = mode_.load();
    return Napi::String::New(info.Env(), m == kEventfd ? "eventfd" : m == kPoll ? "poll" : "starting");
  }

  void Wake() {
    if (wake_fd_ >= 0) {
      uint64_t one = 1;
      ssize_t rc = write(wake_fd_, &one, sizeof one);
      (void)rc;  // EAGAIN only when the counter is saturated: the thread is awake anyway.
    }
  }

  // Stop the thread (if it still runs), join it and free everything. JS thread only; idempotent.
  void Finish(bool unref) {
    if (!running_) {
      CloseFds();
      return;
    }
    running_ = false;
    stopped_ = true;
    closing_.store(true);
    Wake();
    if (thread_.joinable()) thread_.join();
    napi_remove_env_cleanup_hook(Env(), CleanupHook, this);
    tsfn_.Release();
    CloseFds();
    if (unref) {
      // The C call, not ObjectWrap::Unref: while the environment tears down it fails, and the
      // wrapper's throwing form would be fatal there.
      uint32_t count = 0;
      napi_reference_unref(Env(), static_cast<napi_ref>(*this), &count);
    }
  }

  void CloseFds() {
    for (int* fd : {&usage_fd_, &stat_fd_, &wake_fd_, &control_fd_, &threshold_fd_}) {
      if (*fd >= 0) close(*fd);
      *fd = -1;
    }
  }

  // Register `level` as a usage threshold (once per distinct value). A refusal (EACCES/EROFS on a
  // read-only cgroupfs, EINVAL on PREEMPT_RT kernels) leaves the thread re-reading on its period.
  void Register(int64_t level) {
    if (threshold_fd_ < 0 || registered_.count(level) > 0) return;
    bool ok = registered_.size() < kMaxThresholds;
    if (ok) {
      std::string line = std::to_string(threshold_fd_) + " " + std::to_string(usage_fd_) + " " +
                         std::to_string(level);
      ok = write(control_fd_, line.data(), line.size()) == static_cast<ssize_t>(line.size());
    }
    if (ok) {
      registered_.insert(level);
    } else {
      close(threshold_fd_);
      threshold_fd_ = -1;
      mode_.store(kPoll);
    }
  }

  void RegisterPending() {
    std::set<int64_t> todo;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      todo.swap(pending_);
    }
    for (int64_t t : todo) Register(t);
  }

  void Notify(int64_t usage, int64_t ws, int err) {
    auto* c = new Crossing{static_cast<double>(usage), static_cast<double>(ws), err};
    napi_status s = tsfn_.NonBlockingCall(c, [](Napi::Env env, Napi::Function cb, Crossing* c) {
      // The C calls, not the throwing wrappers: while the environment tears down, queued calls
      // are still delivered and calling into JS fails, which the wrappers would make fatal.
      if (env != nullptr && cb != nullptr) {
        napi_value args[3], undefined, result;
        if (napi_create_double(env, c->usage, &args[0]) == napi_ok &&
            napi_create_double(env, c->workingSet, &args[1]) == napi_ok &&
            napi_create_int32(env, c->err, &args[2]) == napi_ok &&
            napi_get_undefined(env, &undefined) == napi_ok) {
          napi_call_function(env, undefined, cb, 3, args, &result);
        }
      }
      delete c;
    });
    if (s != napi_ok) delete c;
  }

  void Run() {
    char usage_buf[64];
    // memory.stat is ~1 KiB on v1 and ~3 KiB on v2 kernels of today.
    static thread_local char stat_buf[16384];
    while (!closing_.load()) {
      RegisterPending();
      int64_t level = level_.load();
      if (level != kDisarmed) Register(level);
      if (threshold_fd_ >= 0 && !registered_.empty()) mode_.store(kEventfd);
      int64_t usage = 0;
      ssize_t n = ReadAt0(usage_fd_, usage_buf, sizeof usage_buf);
      if (n < 0) {
        // The group vanished or the file is unreadable: tell JS once and stop; the guard's own
        // sampling reports the failure.
        Notify(0, 0, static_cast<int>(-n));
        return;
      }
      if (!ParseU64(usage_buf, &usage)) {
        // Not a number (a file caught mid-rewrite where plain files stand in for cgroupfs):
        // no reading this round, try again after the period.
        WaitFor(period_ms_);
        continue;
      }
      bool above = level != kDisarmed && usage >= level;
      if (above) {
        int64_t inactive = 0;
        ssize_t m = ReadAt0(stat_fd_, stat_buf, sizeof stat_buf);
        if (m < 0 || !FindKey(stat_buf, key_, &inactive)) inactive = 0;
        int64_t ws = usage > inactive ? usage - inactive : 0;
        // Disarm only if JS has not armed a new level meanwhile: that one is checked next round.
        if (ws >= level && level_.compare_exchange_strong(level, kDisarmed)) {
          Notify(usage, ws, 0);
          continue;
        }
      }
      // The kernel tests thresholds only every 128 page events per CPU, so a crossing followed by
      // fewer charges than that is signalled late or, if the group then goes quiet, not at all.
      // Within that distance of the level the thread re-reads instead of trusting the eventfd.
      bool near = level != kDisarmed && usage >= level - lag_bytes_;
      bool sleep_forever = level == kDisarmed || (!near && threshold_fd_ >= 0);
      WaitFor(sleep_forever ? -1 : period_ms_);
    }
  }

  // Sleep until woken by JS or a threshold event, or for timeout_ms (-1: no timeout).
  void WaitFor(int timeout_ms) {
    struct pollfd fds[2] = {{wake_fd_, POLLIN, 0}, {threshold_fd_, POLLIN, 0}};
    int rc = poll(fds, threshold_fd_ >= 0 ? 2 : 1, timeout_ms);
    if (rc <= 0) return;
    uint64_t count;
    for (auto& p : fds) {
      if (p.fd >= 0 && (p.revents & POLLIN) != 0) {
        ssize_t r = read(p.fd, &count, sizeof count);
        (void)r;
      }
    }
  }

  std::string key_;
  int period_ms_ = 5;
  int64_t lag_bytes_ = 0;
  int usage_fd_ = -1, stat_fd_ = -1, wake_fd_ = -1, control_fd_ = -1, threshold_fd_ = -1;
  std::atomic<int64_t> level_{kDisarmed};
  std::atomic<bool> closing_{false};
  std::atomic<int> mode_{kStarting};
  std::mutex mutex_;
  std::set<int64_t> pending_;  // guarded by mutex_
  bool running_ = false;  // JS thread only, as is stopped_
  bool stopped_ = false;
  std::set<int64_t> registered_;  // only touched by the thread; so is threshold_fd_ once it runs
  std::thread thread_;
  Napi::ThreadSafeFunction tsfn_;
};

}  // namespace

void InitCgroupWatch(Napi::Env env, Napi::Object exports) {
  exports.Set("CgroupWatcher", CgroupWatcher::Define(env));
}

#else

void InitCgroupWatch(Napi::Env, Napi::Object) {}

#endif
