package xgboost

import "syscall"

// setNice sets the calling OS thread's niceness (Linux keeps one per
// thread). Best effort: a failure leaves the thread's priority as it was.
func setNice(nice int) {
	_ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), min(nice, 19))
}

// threadNice is the calling OS thread's niceness.
func threadNice() (int, error) {
	// The raw system call returns 20 - nice.
	p, err := syscall.Getpriority(syscall.PRIO_PROCESS, syscall.Gettid())
	return 20 - p, err
}
