# SPDX-License-Identifier: GPL-2.0
#
# pinmem: out-of-tree module build plus the project's commands.
#
#   make [KDIR=/path/to/kernel/build]   build pinmem.ko (default: running kernel)
#   make clean
#   make user      libpinmem, pinmemctl (user/); make install installs them (DESTDIR, PREFIX)
#   make demo      boot stock kernels in QEMU: a pin leaving ZONE_MOVABLE (amd64),
#                  and long- vs short-term pins against a CMA allocation (arm64)
#   make check     the whole test suite, in QEMU, on every target kernel
#   make bench     benchmarks in QEMU: pinmem vs bare GUP, io_uring, udmabuf, mlock
#   make lint      checkpatch --strict, and sparse (C=2) + W=1 on every target's headers

KDIR ?= /lib/modules/$(shell uname -r)/build
# The VM runs keep the whole console log in ~/.cache/pinmem/logs; print only
# results (PINMEM_QUIET=0 to watch the consoles live).
export PINMEM_QUIET ?= 1
PWD := $(shell pwd)

all: modules

modules:
	$(MAKE) -C $(KDIR) M=$(PWD) modules

# tests/ is not in the DKMS source tree (/usr/src/pinmem-*), whose CLEAN runs this
clean:
	$(MAKE) -C $(KDIR) M=$(PWD) clean 2>/dev/null || \
		rm -rf src/*.o src/.*.cmd *.o *.ko *.mod *.mod.c .*.cmd Module.symvers modules.order .tmp_versions
	if [ -d tests ]; then $(MAKE) -C tests clean; fi

# user space: libpinmem, pinmemctl, man pages (see user/Makefile)
user:
	$(MAKE) -C user

install:
	$(MAKE) -C user install

check:
	@scripts/check

demo:
	@scripts/vm-run amd64 --demo
	@scripts/vm-run arm64 --demo

lint:
	@scripts/lint

bench:
	@scripts/bench

.PHONY: all modules clean check demo lint bench user install
