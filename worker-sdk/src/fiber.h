// Fiber: a Boost.Context fiber running one function, with explicit resume/yield, on a stack from
// a StackPool (mmap'd, one guard page below, reused through a free list). A Fiber is used by one
// thread at a time; StackPool is thread-safe and must outlive its fibers.
#pragma once

#include <boost/context/fiber.hpp>
#include <boost/context/stack_context.hpp>

#include <cstddef>
#include <functional>
#include <mutex>
#include <vector>

namespace cairn::detail {

class StackPool {
 public:
  // `stack_bytes` is rounded up to whole pages; at most `max_free` stacks are kept for reuse.
  explicit StackPool(size_t stack_bytes, size_t max_free = 64);
  ~StackPool();
  StackPool(const StackPool&) = delete;
  StackPool& operator=(const StackPool&) = delete;

  // Throws std::bad_alloc when the kernel refuses the mapping.
  boost::context::stack_context allocate();
  void deallocate(boost::context::stack_context& sc) noexcept;

  // A process-wide pool of 256 KiB stacks, for code that has none of its own (tests, tools).
  static StackPool& shared();

 private:
  size_t usable_;    // bytes the fiber may use
  size_t mapping_;   // usable_ + guard page
  size_t max_free_;
  std::mutex mu_;
  std::vector<void*> free_;  // GUARDED_BY(mu_): base addresses of whole mappings
};

// The C++ runtime's per-thread exception state (libstdc++'s __cxa_eh_globals: the stack of
// caught exceptions and the count of uncaught ones). A fiber suspended inside a catch block owns
// part of it; it may be resumed by another thread, and other code runs on the resuming thread in
// between. So each fiber keeps its own copy, swapped into the thread around every switch —
// otherwise `throw;` in a catch block that waited on a future terminates the process.
struct EhState {
  void* caught_exceptions = nullptr;
  unsigned int uncaught_exceptions = 0;
};

// Swaps `fiber_state` with the calling thread's exception state now and again on destruction.
// Lives on the resuming thread's stack only (a fiber may migrate; its resumer never does).
class EhStateSwap {
 public:
  explicit EhStateSwap(EhState& fiber_state);
  ~EhStateSwap();
  EhStateSwap(const EhStateSwap&) = delete;
  EhStateSwap& operator=(const EhStateSwap&) = delete;

 private:
  EhState& fiber_state_;
  EhState* thread_state_;
};

// Runs `body` on its own stack. resume() runs it until it calls yield() or returns; destroying
// a suspended Fiber unwinds its stack (forced_unwind), running the destructors on it.
class Fiber {
 public:
  Fiber(StackPool& pool, std::function<void()> body);
  ~Fiber();
  Fiber(const Fiber&) = delete;
  Fiber& operator=(const Fiber&) = delete;

  // REQUIRES: !finished() and not called from this fiber.
  void resume();
  // REQUIRES: called from this fiber.
  void yield();
  bool finished() const { return finished_; }
  bool running() const { return running_; }

 private:
  std::function<void()> body_;
  boost::context::fiber fiber_;   // the suspended fiber while it is not running
  boost::context::fiber caller_;  // whoever resumed it, while it runs
  bool finished_ = false;
  bool running_ = false;
  EhState eh_state_;  // the fiber's exception state while it is suspended
};

}  // namespace cairn::detail
