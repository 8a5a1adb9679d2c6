// libcni-client drives CNI plugins through libcni, the library container runtimes
// (containerd, CRI-O, podman) use, so netrank's conformance tests exercise the shim the way a
// real runtime does: config parsing and validation, runtimeConfig/capability injection,
// prevResult chaining, the result cache that CHECK and DEL read, and version conversion.
//
// It is built offline in GOPATH mode from Debian's golang-github-appc-cni-dev (libcni 1.1.2,
// CNI spec up to 1.0.0) by scripts/build-conformance.mjs.
//
// Usage:
//
//	libcni-client -conflist FILE -netns PATH -containerid ID -ifname eth0 \
//	  -cni-path DIR[:DIR…] -cache-dir DIR -args 'K=V;K2=V2' [-capability-args JSON] \
//	  add|check|del|validate
//	libcni-client -cni-path DIR -plugin TYPE version
//
// add prints the result JSON on stdout; validate prints the conflist's capabilities;
// version prints the plugin's VERSION answer. On error the error goes to stderr, with a
// second line `cni-error: {"code":…,"msg":…,"details":…}` when a plugin returned a CNI
// error, and the exit status is 2. Bad usage exits 64.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/types"
)

const defaultTimeout = 120 * time.Second // one verb of a whole conflist, slow CI included

func usageError(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "libcni-client: "+format+"\n", a...)
	flag.Usage()
	os.Exit(64)
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "libcni-client: %v\n", err)
	var cniErr *types.Error
	if errors.As(err, &cniErr) {
		b, _ := json.Marshal(cniErr)
		fmt.Fprintf(os.Stderr, "cni-error: %s\n", b)
	}
	os.Exit(2)
}

// parseArgs turns 'K=V;K2=V2' into libcni's [][2]string (what CNI_ARGS is built from).
func parseArgs(s string) ([][2]string, error) {
	var out [][2]string
	if s == "" {
		return out, nil
	}
	for _, kv := range strings.Split(s, ";") {
		if kv == "" {
			continue
		}
		parts := strings.SplitN(kv, "=", 2)
		if len(parts) != 2 || parts[0] == "" {
			return nil, fmt.Errorf("-args entry %q is not K=V", kv)
		}
		out = append(out, [2]string{parts[0], parts[1]})
	}
	return out, nil
}

// loadList reads a .conflist, or a single-plugin .conf wrapped into a list.
func loadList(path string) (*libcni.NetworkConfigList, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var probe map[string]interface{}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("%s: invalid JSON: %w", path, err)
	}
	if _, ok := probe["plugins"]; ok {
		return libcni.ConfListFromBytes(data)
	}
	conf, err := libcni.ConfFromBytes(data)
	if err != nil {
		return nil, err
	}
	return libcni.ConfListFromConf(conf)
}

func main() {
	conflist := flag.String("conflist", "", "network configuration list (.conflist) or single conf (.conf)")
	netns := flag.String("netns", "", "network namespace path (CNI_NETNS)")
	containerID := flag.String("containerid", "", "container ID (CNI_CONTAINERID)")
	ifname := flag.String("ifname", "eth0", "interface name (CNI_IFNAME)")
	cniPath := flag.String("cni-path", "", "plugin search path, ':'-separated (CNI_PATH)")
	cacheDir := flag.String("cache-dir", "", "libcni result cache dir (default: libcni's /var/lib/cni)")
	cniArgs := flag.String("args", "", "CNI_ARGS as 'K=V;K2=V2'")
	capArgs := flag.String("capability-args", "", "runtimeConfig capability arguments as a JSON object")
	plugin := flag.String("plugin", "", "plugin type, for the version command")
	timeout := flag.Duration("timeout", defaultTimeout, "deadline for the whole command")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: libcni-client -conflist FILE -netns PATH -containerid ID [-ifname eth0] -cni-path DIR -cache-dir DIR [-args 'K=V;…'] [-capability-args JSON] add|check|del|validate\n       libcni-client -cni-path DIR -plugin TYPE version\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		usageError("exactly one command is needed (add, check, del, validate, version), got %d", flag.NArg())
	}
	cmd := flag.Arg(0)
	if *cniPath == "" {
		usageError("-cni-path is required")
	}
	cni := libcni.NewCNIConfigWithCacheDir(filepath.SplitList(*cniPath), *cacheDir, nil)
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()

	if cmd == "version" {
		if *plugin == "" {
			usageError("version needs -plugin TYPE")
		}
		info, err := cni.GetVersionInfo(ctx, *plugin)
		if err != nil {
			fail(err)
		}
		b, _ := json.Marshal(map[string]interface{}{"supportedVersions": info.SupportedVersions()})
		fmt.Println(string(b))
		return
	}

	if *conflist == "" {
		usageError("-conflist is required")
	}
	list, err := loadList(*conflist)
	if err != nil {
		fail(err)
	}
	if cmd == "validate" {
		caps, err := cni.ValidateNetworkList(ctx, list)
		if err != nil {
			fail(err)
		}
		b, _ := json.Marshal(map[string]interface{}{"capabilities": caps})
		fmt.Println(string(b))
		return
	}

	if *netns == "" || *containerID == "" {
		usageError("%s needs -netns and -containerid", cmd)
	}
	args, err := parseArgs(*cniArgs)
	if err != nil {
		usageError("%v", err)
	}
	rt := &libcni.RuntimeConf{ContainerID: *containerID, NetNS: *netns, IfName: *ifname, Args: args}
	if *capArgs != "" {
		if err := json.Unmarshal([]byte(*capArgs), &rt.CapabilityArgs); err != nil {
			usageError("-capability-args is not a JSON object: %v", err)
		}
	}

	switch cmd {
	case "add":
		result, err := cni.AddNetworkList(ctx, list, rt)
		if err != nil {
			fail(err)
		}
		b, err := json.Marshal(result)
		if err != nil {
			fail(err)
		}
		fmt.Println(string(b))
	case "check":
		if err := cni.CheckNetworkList(ctx, list, rt); err != nil {
			fail(err)
		}
	case "del":
		if err := cni.DelNetworkList(ctx, list, rt); err != nil {
			fail(err)
		}
	default:
		usageError("unknown command %q (add, check, del, validate, version)", cmd)
	}
}
