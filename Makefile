# SPDX-License-Identifier: GPL-2.0
#
# pinmem: out-of-tree module build plus the project's commands.
#
#   make [KDIR=/path/to/kernel/build]   build pinmem.ko (default: running kernel)
#   make clean
#   make demo      boot a stock kernel in QEMU and show a pin leaving ZONE_MOVABLE
#   make check     the whole test suite, in QEMU, on every target kernel
#   make lint      checkpatch --strict, sparse (C=2) and W=1 against KDIR

KDIR ?= /lib/modules/$(shell uname -r)/build
PWD := $(shell pwd)

all: modules

modules:
	$(MAKE) -C $(KDIR) M=$(PWD) modules

clean:
	$(MAKE) -C $(KDIR) M=$(PWD) clean 2>/dev/null || \
		rm -rf src/*.o src/.*.cmd *.o *.ko *.mod *.mod.c .*.cmd Module.symvers modules.order .tmp_versions
	$(MAKE) -C tests clean

check:
	@scripts/check

demo:
	@scripts/vm-run amd64 --demo

lint:
	scripts/lint

.PHONY: all modules clean check demo lint
