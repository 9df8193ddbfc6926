namespace Unicorn.Cli;

internal static class Program
{
    private static int Main(string[] args)
    {
        Console.Error.WriteLine("unicorn: not yet wired");
        return args.Length == 0 ? 2 : 1;
    }
}
