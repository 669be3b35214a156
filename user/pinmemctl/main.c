// SPDX-License-Identifier: GPL-2.0
#include "pinmemctl.h"

int main(int argc, char **argv)
{
	return pinmemctl_main(argc, argv);
}
