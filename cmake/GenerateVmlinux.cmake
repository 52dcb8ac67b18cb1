# cmake -P script: writes vmlinux.h from the kernel's BTF, or fails with one line.
if(NOT EXISTS "${BTF}")
    message(FATAL_ERROR "no BTF at ${BTF}: this kernel was built without CONFIG_DEBUG_INFO_BTF; "
                        "pass -DTCPSCOPE_BTF=<file> with the BTF of the target kernel")
endif()
get_filename_component(_dir ${OUT} DIRECTORY)
file(MAKE_DIRECTORY ${_dir})
execute_process(COMMAND ${BPFTOOL} btf dump file ${BTF} format c
                OUTPUT_FILE ${OUT}.tmp RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
    file(REMOVE ${OUT}.tmp)
    message(FATAL_ERROR "bpftool could not dump ${BTF}: ${err}")
endif()
file(RENAME ${OUT}.tmp ${OUT})
