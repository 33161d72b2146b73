// SPDX-License-Identifier: GPL-2.0
/*
 * daxpin: the host - an address space of daxpin's own, and the one thread
 * that works in it.
 *
 * Keeper windows (keeper.c) keep pinned files mapped. Whatever keeps a file
 * mapped must be out of every process's reach: a window in the holder's own
 * mm could be unmapped, moved, split, copied at fork, advised, protected or
 * sealed by the holder, and it would go with the holder's mm at exit while
 * an RDMA registration still holds the pages. So every window lives in the
 * host mm, in which no process runs: no task has it as its mm, nothing in
 * /proc names it, and only the host thread, a kthread, ever switches to it
 * (kthread_use_mm()) to map and unmap windows.
 *
 * The kernel exports no way to make an empty mm; exec is the exported way
 * to get a fresh one. At load, daxpin runs host_exec (default /bin/true)
 * as a usermode helper. A task_work queued before the exec runs in the new
 * process on its way to userspace, after the exec: it takes a reference to
 * the process's mm (mmget) and kills the process before it runs a single
 * instruction. The host thread then unmaps everything the exec had mapped,
 * and the mm holds keeper windows only. It lives until module unload.
 */
#include <linux/cred.h>
#include <linux/idr.h>
#include <linux/kthread.h>
#include <linux/sizes.h>
#include <linux/mman.h>
#include <linux/moduleparam.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/task_work.h>
#include <linux/umh.h>

#include "daxpin.h"

static char *host_exec = "/bin/true";
module_param(host_exec, charp, 0444);
MODULE_PARM_DESC(host_exec,
		 "Program exec'd once at load for a fresh address space to hold keeper windows; it never runs (default /bin/true)");

struct mm_struct *daxpin_host_mm;
static struct kthread_worker *daxpin_host_worker;

/*
 * Scratch pages of the host mm, for calls that answer into user memory
 * (FIEMAP): slot N at N pages from 1 MiB, below the first window slot.
 * A slot's page is mapped the first time the slot is used and stays, so
 * that a call costs no mmap and munmap (and no TLB shootdown); slots are
 * handed out lowest first, so only as many pages as calls ever ran at once
 * are mapped. The calls run on a workqueue of their own, at most
 * DAXPIN_SCRATCH_SLOTS at once, so a slot is always free for a call that
 * runs; and calls that block (FIEMAP on XFS sleeps while a layout change
 * holds the iolock) hold up neither each other nor daxpin's other works.
 */
#define DAXPIN_SCRATCH_FIRST	(SZ_1M >> PAGE_SHIFT)
#define DAXPIN_SCRATCH_SLOTS	WQ_MAX_ACTIVE
static DEFINE_IDA(daxpin_scratch_slots);
static DECLARE_BITMAP(daxpin_scratch_mapped, DAXPIN_SCRATCH_SLOTS);
static struct workqueue_struct *daxpin_scratch_wq;

struct daxpin_host_grab {
	struct callback_head twork;
	struct mm_struct *mm;
};

/*
 * Runs in the helper process, after its exec and before it returns to
 * userspace (or at its exit, with no mm, if the exec failed).
 */
static void daxpin_host_grab_mm(struct callback_head *twork)
{
	struct daxpin_host_grab *grab =
		container_of(twork, struct daxpin_host_grab, twork);

	if (current->mm) {
		mmget(current->mm);
		grab->mm = current->mm;
	}
	send_sig(SIGKILL, current, 1);
}

/* Runs in the helper process before the exec. */
static int daxpin_host_umh_init(struct subprocess_info *info, struct cred *new)
{
	struct daxpin_host_grab *grab = info->data;

	init_task_work(&grab->twork, daxpin_host_grab_mm);
	return task_work_add(current, &grab->twork, TWA_RESUME);
}

static struct mm_struct *daxpin_host_exec(void)
{
	char *argv[2] = { host_exec, NULL };
	char *envp[1] = { NULL };
	struct daxpin_host_grab grab = { };
	struct subprocess_info *info;
	int ret;

	info = call_usermodehelper_setup(host_exec, argv, envp, GFP_KERNEL,
					 daxpin_host_umh_init, NULL, &grab);
	if (!info)
		return ERR_PTR(-ENOMEM);
	/* Returns once the helper has died: the task_work ran by then. */
	ret = call_usermodehelper_exec(info, UMH_WAIT_PROC);
	if (grab.mm)
		return grab.mm;
	pr_err("daxpin: cannot exec host_exec '%s' for the keeper address space (%d)\n",
	       host_exec, ret);
	return ERR_PTR(ret < 0 ? ret : -ENOEXEC);
}

struct daxpin_host_call {
	struct kthread_work work;
	int (*fn)(void *arg);
	void *arg;
	int ret;
};

static void daxpin_host_call_fn(struct kthread_work *work)
{
	struct daxpin_host_call *call =
		container_of(work, struct daxpin_host_call, work);

	call->ret = call->fn(call->arg);
}

/*
 * Run @fn(@arg) on the host thread, with the host mm as current->mm, and
 * wait for it. Calls run one at a time, in order.
 */
int daxpin_host_run(int (*fn)(void *arg), void *arg)
{
	struct daxpin_host_call call = { .fn = fn, .arg = arg };

	kthread_init_work(&call.work, daxpin_host_call_fn);
	kthread_queue_work(daxpin_host_worker, &call.work);
	kthread_flush_work(&call.work);
	return call.ret;
}

/* With the host mm in use: the address of scratch slot @slot, mapped. */
static unsigned long daxpin_scratch_map(int slot)
{
	unsigned long want = (DAXPIN_SCRATCH_FIRST + (unsigned long)slot) <<
			     PAGE_SHIFT;
	unsigned long addr;

	/* The slot is ours alone until it is freed: no race on its bit. */
	if (test_bit(slot, daxpin_scratch_mapped))
		return want;
	addr = vm_mmap(NULL, want, PAGE_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, 0);
	if (addr == want)
		set_bit(slot, daxpin_scratch_mapped);
	return IS_ERR_VALUE(addr) || addr == want ? addr : -EINVAL;
}

static void daxpin_scratch_call_put(struct daxpin_scratch_call *call)
{
	if (refcount_dec_and_test(&call->refs))
		call->release(call);
}

static void daxpin_scratch_call_fn(struct work_struct *work)
{
	struct daxpin_scratch_call *call =
		container_of(work, struct daxpin_scratch_call, work);
	unsigned long addr;
	int slot;

	slot = ida_alloc_max(&daxpin_scratch_slots, DAXPIN_SCRATCH_SLOTS - 1,
			     GFP_KERNEL);
	/* No more calls run at once than there are slots. */
	if (WARN_ON_ONCE(slot == -ENOSPC) || slot < 0) {
		call->ret = -ENOMEM;
		goto out;
	}
	kthread_use_mm(daxpin_host_mm);
	addr = daxpin_scratch_map(slot);
	if (IS_ERR_VALUE(addr))
		call->ret = (int)addr;
	else
		call->ret = call->fn(call, (void __user *)addr);
	kthread_unuse_mm(daxpin_host_mm);
	ida_free(&daxpin_scratch_slots, slot);
out:
	daxpin_user_uncharge(call->user, DAXPIN_USER_SCRATCH);
	complete(&call->done);
	daxpin_scratch_call_put(call);
}

/*
 * Run @call->fn on a worker with the host mm in use and a page of it,
 * which no process can reach, as its scratch; wait for it, killably.
 * Unlike daxpin_host_run(), a call that blocks holds up only its caller,
 * and the caller need not stay: a fatal signal ends its wait (-EINTR) and
 * the call finishes on its own. @call is the caller's allocation, with
 * @fn and @release set; whichever side is done last releases it, so
 * whatever @fn uses must be in it, held. The call counts against the
 * caller's user (max_scratch_calls_per_user, -ENOSPC beyond) until the
 * worker is done with it.
 */
int daxpin_host_run_scratch(struct daxpin_scratch_call *call)
{
	int ret;

	call->user = current_uid();
	ret = daxpin_user_charge(call->user, DAXPIN_USER_SCRATCH);
	if (ret) {
		call->release(call);
		return ret;
	}
	INIT_WORK(&call->work, daxpin_scratch_call_fn);
	init_completion(&call->done);
	refcount_set(&call->refs, 2);
	queue_work(daxpin_scratch_wq, &call->work);
	ret = wait_for_completion_killable(&call->done) ? -EINTR : call->ret;
	daxpin_scratch_call_put(call);
	return ret;
}

/* Queue @work on the host thread; it runs with the host mm in use. */
void daxpin_host_queue(struct kthread_work *work)
{
	kthread_queue_work(daxpin_host_worker, work);
}

/* Wait for every work queued so far. */
void daxpin_host_flush(void)
{
	kthread_flush_worker(daxpin_host_worker);
}

static int daxpin_host_adopt(void *arg)
{
	kthread_use_mm(daxpin_host_mm);
	/* What the exec mapped (program, stack, vdso) is of no use here. */
	return vm_munmap(0, TASK_SIZE);
}

static int daxpin_host_leave(void *arg)
{
	kthread_unuse_mm(daxpin_host_mm);
	return 0;
}

int daxpin_host_init(void)
{
	int ret;

	daxpin_host_mm = daxpin_host_exec();
	if (IS_ERR(daxpin_host_mm))
		return PTR_ERR(daxpin_host_mm);

	daxpin_scratch_wq = alloc_workqueue("daxpin-scratch", WQ_UNBOUND,
					    DAXPIN_SCRATCH_SLOTS);
	if (!daxpin_scratch_wq) {
		ret = -ENOMEM;
		goto out_mmput;
	}
	daxpin_host_worker = kthread_create_worker(0, "daxpin-host");
	if (IS_ERR(daxpin_host_worker)) {
		ret = PTR_ERR(daxpin_host_worker);
		goto out_wq;
	}
	ret = daxpin_host_run(daxpin_host_adopt, NULL);
	if (ret) {
		pr_err("daxpin: cannot empty the keeper address space (%d)\n",
		       ret);
		daxpin_host_run(daxpin_host_leave, NULL);
		goto out_worker;
	}
	return 0;

out_worker:
	kthread_destroy_worker(daxpin_host_worker);
out_wq:
	destroy_workqueue(daxpin_scratch_wq);
out_mmput:
	mmput(daxpin_host_mm);
	return ret;
}

/* Every window is gone: no work is queued any more. */
void daxpin_host_exit(void)
{
	daxpin_host_run(daxpin_host_leave, NULL);
	kthread_destroy_worker(daxpin_host_worker);
	destroy_workqueue(daxpin_scratch_wq);
	mmput(daxpin_host_mm);
}
