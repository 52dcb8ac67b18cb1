# Builds BPF objects and their bpftool skeletons.
#
#   tcpscope_bpf_skeleton(<name> <source.bpf.c> [DEPENDS header...])
#
# compiles <source> with clang -target bpf -O2 -g against a vmlinux.h generated
# from the build host's BTF, runs `bpftool gen skeleton`, and defines the
# INTERFACE target <name>_skel that carries the skeleton's include path and the
# libbpf link. A function, not a macro, so nothing leaks into the caller.

find_program(BPF_CLANG NAMES clang clang-16 clang-15 clang-14 REQUIRED)
find_program(BPFTOOL NAMES bpftool PATHS /usr/sbin /usr/local/sbin REQUIRED)
set(TCPSCOPE_BTF "/sys/kernel/btf/vmlinux" CACHE FILEPATH "BTF used to generate vmlinux.h")

execute_process(COMMAND ${BPF_CLANG} --version OUTPUT_VARIABLE _clang_version)
string(REGEX MATCH "version ([0-9]+)" _ "${_clang_version}")
if(CMAKE_MATCH_1 LESS 11)
    message(FATAL_ERROR "BPF needs clang 11 or newer; found ${BPF_CLANG} version ${CMAKE_MATCH_1}")
endif()

string(TOLOWER "${CMAKE_SYSTEM_PROCESSOR}" _arch)
if(_arch MATCHES "x86_64|amd64")
    set(BPF_TARGET_ARCH x86)
elseif(_arch MATCHES "aarch64|arm64")
    set(BPF_TARGET_ARCH arm64)
else()
    set(BPF_TARGET_ARCH ${_arch})
endif()

set(BPF_GENERATED_DIR ${CMAKE_BINARY_DIR}/bpf-generated)
set(BPF_VMLINUX_H ${BPF_GENERATED_DIR}/vmlinux.h)

# vmlinux.h once per build tree; the script fails with one clear line when the
# build host has no BTF.
add_custom_command(
    OUTPUT ${BPF_VMLINUX_H}
    COMMAND ${CMAKE_COMMAND} -DBTF=${TCPSCOPE_BTF} -DBPFTOOL=${BPFTOOL} -DOUT=${BPF_VMLINUX_H}
            -P ${CMAKE_CURRENT_LIST_DIR}/GenerateVmlinux.cmake
    DEPENDS ${CMAKE_CURRENT_LIST_DIR}/GenerateVmlinux.cmake
    COMMENT "Generating vmlinux.h from ${TCPSCOPE_BTF}"
    VERBATIM)
add_custom_target(bpf_vmlinux_h DEPENDS ${BPF_VMLINUX_H})

function(tcpscope_bpf_skeleton name source)
    cmake_parse_arguments(ARG "" "" "DEPENDS" ${ARGN})
    get_filename_component(_src ${source} ABSOLUTE)
    set(_obj ${BPF_GENERATED_DIR}/${name}.bpf.o)
    set(_skel ${BPF_GENERATED_DIR}/${name}.skel.h)

    add_custom_command(
        OUTPUT ${_obj}
        COMMAND ${BPF_CLANG} -target bpf -O2 -g -Wall -Werror
                -D__TARGET_ARCH_${BPF_TARGET_ARCH}
                -I${BPF_GENERATED_DIR} -I${PROJECT_SOURCE_DIR}/include
                -c ${_src} -o ${_obj}
        DEPENDS ${_src} ${BPF_VMLINUX_H} ${ARG_DEPENDS}
        COMMENT "BPF ${name}.bpf.o"
        VERBATIM)
    add_custom_command(
        OUTPUT ${_skel}
        COMMAND ${BPFTOOL} gen skeleton ${_obj} name ${name}_bpf > ${_skel}
        DEPENDS ${_obj}
        COMMENT "Skeleton ${name}.skel.h"
        VERBATIM)
    add_custom_target(${name}_skel_gen DEPENDS ${_skel})

    add_library(${name}_skel INTERFACE)
    add_dependencies(${name}_skel ${name}_skel_gen)
    target_include_directories(${name}_skel INTERFACE ${BPF_GENERATED_DIR})
    target_link_libraries(${name}_skel INTERFACE PkgConfig::LIBBPF)
endfunction()
