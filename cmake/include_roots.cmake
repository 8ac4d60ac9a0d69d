# Per-module include roots. Quoted includes are rooted at the repo ("history/ids.h"), but the repo
# root itself is on no target's include path: that would let any module include any other's
# headers. Instead each module stages a root of its own in the build tree that holds only its
# folder (a symlink), and exports it to the targets that link it, so "history/ids.h" resolves
# only for targets that link cairn_history (.ci/check-layers.sh checks the same rule by grep).

# cairn_include_root(<target> <PUBLIC|PRIVATE|INTERFACE> <folder>): makes "<folder>/..." includable
# by <target> (and, unless PRIVATE, by whatever links it). <folder> is relative to the repo root;
# it may be nested ("worker-sdk/src").
function(cairn_include_root target scope folder)
  string(REPLACE "/" "_" root_name "${folder}")
  set(root "${PROJECT_BINARY_DIR}/include_roots/${root_name}")
  get_filename_component(parent "${root}/${folder}" DIRECTORY)
  file(MAKE_DIRECTORY "${parent}")
  if(NOT IS_SYMLINK "${root}/${folder}")
    file(CREATE_LINK "${PROJECT_SOURCE_DIR}/${folder}" "${root}/${folder}" SYMBOLIC)
  endif()
  target_include_directories(${target} ${scope} "${root}")
endfunction()
