// Pooled guarded stacks and the resume/yield wrapper over boost::context::fiber.
#include "fiber.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cxxabi.h>

#include <new>
#include <utility>

namespace cairn::detail {
namespace {

size_t page_size() {
  static const size_t size = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  return size;
}

// Forwards to a StackPool; Boost.Context copies the allocator into the fiber's control block.
class PooledStack {
 public:
  explicit PooledStack(StackPool* pool) : pool_(pool) {}
  boost::context::stack_context allocate() { return pool_->allocate(); }
  void deallocate(boost::context::stack_context& sc) noexcept { pool_->deallocate(sc); }

 private:
  StackPool* pool_;
};

}  // namespace

// libstdc++ (and libc++abi) lay __cxa_eh_globals out as EhState: on x86-64 and AArch64 there is
// no third member (that is ARM EHABI only).
static_assert(sizeof(EhState) == 2 * sizeof(void*));

EhStateSwap::EhStateSwap(EhState& fiber_state)
    : fiber_state_(fiber_state),
      thread_state_(reinterpret_cast<EhState*>(abi::__cxa_get_globals())) {
  std::swap(*thread_state_, fiber_state_);
}

EhStateSwap::~EhStateSwap() { std::swap(*thread_state_, fiber_state_); }

StackPool::StackPool(size_t stack_bytes, size_t max_free) : max_free_(max_free) {
  size_t page = page_size();
  usable_ = (stack_bytes + page - 1) / page * page;
  if (usable_ < 4 * page) {
    usable_ = 4 * page;
  }
  mapping_ = usable_ + page;
}

StackPool::~StackPool() {
  for (void* base : free_) {
    ::munmap(base, mapping_);
  }
}

boost::context::stack_context StackPool::allocate() {
  void* base = nullptr;
  {
    std::lock_guard lock(mu_);
    if (!free_.empty()) {
      base = free_.back();
      free_.pop_back();
    }
  }
  if (base == nullptr) {
    base = ::mmap(nullptr, mapping_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) {
      throw std::bad_alloc();
    }
    // The stack grows down: the lowest page is the guard, so an overflow faults at once instead
    // of corrupting the neighbouring mapping.
    ::mprotect(base, page_size(), PROT_NONE);
  }
  boost::context::stack_context sc;
  sc.size = usable_;
  sc.sp = static_cast<char*>(base) + mapping_;
  return sc;
}

void StackPool::deallocate(boost::context::stack_context& sc) noexcept {
  void* base = static_cast<char*>(sc.sp) - mapping_;
  {
    std::lock_guard lock(mu_);
    if (free_.size() < max_free_) {
      free_.push_back(base);
      return;
    }
  }
  ::munmap(base, mapping_);
}

StackPool& StackPool::shared() {
  static StackPool* pool = new StackPool(256 * 1024);
  return *pool;
}

Fiber::Fiber(StackPool& pool, std::function<void()> body) : body_(std::move(body)) {
  fiber_ = boost::context::fiber(
      std::allocator_arg, PooledStack(&pool), [this](boost::context::fiber&& caller) {
        caller_ = std::move(caller);
        // body_ must not let exceptions escape, except Boost's forced_unwind, which ends here.
        body_();
        finished_ = true;
        return std::move(caller_);
      });
}

Fiber::~Fiber() {
  // A suspended fiber is unwound by boost::context::fiber's destructor, on this thread: the
  // unwind passes through the catch blocks the fiber is suspended in.
  EhStateSwap swap(eh_state_);
  fiber_ = boost::context::fiber();
}

void Fiber::resume() {
  running_ = true;
  {
    EhStateSwap swap(eh_state_);
    fiber_ = std::move(fiber_).resume();
  }
  running_ = false;
}

void Fiber::yield() { caller_ = std::move(caller_).resume(); }

}  // namespace cairn::detail
