#include "history/group_commit.h"

namespace cairn {
namespace {

// Re-records the operations of one batch into another. Only the operations the store writes
// (put, delete, merge) occur; anything else fails the group rather than being dropped.
class Copier final : public rocksdb::WriteBatch::Handler {
 public:
  Copier(rocksdb::WriteBatch* into, const std::vector<rocksdb::ColumnFamilyHandle*>& by_id)
      : into_(into), by_id_(by_id) {}

  rocksdb::Status PutCF(uint32_t id, const rocksdb::Slice& key,
                        const rocksdb::Slice& value) override {
    auto* cf = family(id);
    return cf == nullptr ? unknown(id) : into_->Put(cf, key, value);
  }
  rocksdb::Status DeleteCF(uint32_t id, const rocksdb::Slice& key) override {
    auto* cf = family(id);
    return cf == nullptr ? unknown(id) : into_->Delete(cf, key);
  }
  rocksdb::Status MergeCF(uint32_t id, const rocksdb::Slice& key,
                          const rocksdb::Slice& value) override {
    auto* cf = family(id);
    return cf == nullptr ? unknown(id) : into_->Merge(cf, key, value);
  }

 private:
  rocksdb::ColumnFamilyHandle* family(uint32_t id) const {
    return id < by_id_.size() ? by_id_[id] : nullptr;
  }
  static rocksdb::Status unknown(uint32_t id) {
    return rocksdb::Status::InvalidArgument("group commit: unknown column family " +
                                            std::to_string(id));
  }

  rocksdb::WriteBatch* into_;
  const std::vector<rocksdb::ColumnFamilyHandle*>& by_id_;
};

}  // namespace

GroupCommitter::GroupCommitter(rocksdb::DB* db,
                               const std::vector<rocksdb::ColumnFamilyHandle*>& families)
    : db_(db) {
  for (auto* cf : families) {
    if (cf->GetID() >= by_id_.size()) {
      by_id_.resize(cf->GetID() + 1, nullptr);
    }
    by_id_[cf->GetID()] = cf;
  }
}

rocksdb::Status GroupCommitter::write(rocksdb::WriteBatch* batch) {
  Writer me(batch);
  std::unique_lock lock(mu_);
  queue_.push_back(&me);
  // Each writer sleeps on its own condition variable and is woken only when its batch is
  // written or when it is first in line to lead: no thundering herd on 64 waiting threads.
  me.wake.wait(lock, [&] { return me.done || (!leading_ && queue_.front() == &me); });
  if (me.done) {
    return me.status;
  }
  // Lead: everything queued so far (this writer's batch first) goes in one write. Writers that
  // arrive while it is in flight queue up for the next one.
  leading_ = true;
  std::deque<Writer*> group;
  group.swap(queue_);
  lock.unlock();
  rocksdb::Status status = write_group(group);
  lock.lock();
  leading_ = false;
  for (Writer* w : group) {
    w->status = status;
    w->done = true;
    if (w != &me) {
      w->wake.notify_one();
    }
  }
  if (!queue_.empty()) {
    queue_.front()->wake.notify_one();  // the next leader
  }
  return status;
}

rocksdb::Status GroupCommitter::write_group(const std::deque<Writer*>& group) {
  rocksdb::WriteOptions options;
  options.sync = true;
  if (group.size() == 1) {
    return db_->Write(options, group.front()->batch);
  }
  // One batch for the group: one WAL record and one sync. Atomic as a whole, which is stronger
  // than each batch being atomic on its own.
  rocksdb::WriteBatch merged;
  Copier copier(&merged, by_id_);
  for (Writer* w : group) {
    rocksdb::Status s = w->batch->Iterate(&copier);
    if (!s.ok()) {
      return s;
    }
  }
  return db_->Write(options, &merged);
}

}  // namespace cairn
