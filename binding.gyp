# The addon's one build file, for node-gyp: prebuildify makes the shipped prebuilds/ with it
# (npm run build:prebuilds), and native/install.mjs builds from it where no prebuild loads
# (npm run build:native: build/Release/secmarkc_native.node).
{
  'targets': [
    {
      'target_name': 'secmarkc_native',
      'sources': ['native/secmarkc_native.cc'],
      'include_dirs': ["<!(node -p \"require('node-addon-api').include_dir\")"],
      'defines': ['NAPI_VERSION=8', 'NAPI_CPP_EXCEPTIONS', 'NODE_ADDON_API_DISABLE_DEPRECATED'],
      'cflags!': ['-fno-exceptions'],
      'cflags_cc!': ['-fno-exceptions'],
      'cflags_cc': [
        '-Wall', '-Wextra', '-fexceptions', '-fvisibility=hidden',
        '-U_FORTIFY_SOURCE', '-D_FORTIFY_SOURCE=2', '-fstack-protector-strong',
      ],
      'ldflags': ['-Wl,-z,relro,-z,now', '-Wl,-z,noexecstack'],
      'configurations': {
        'Release': {
          # Node's common.gypi builds addons with -O3; -O2 is plenty for a byte pipe.
          'cflags!': ['-O3'],
          'cflags': ['-O2'],
        },
      },
    },
  ],
}
